using System.ComponentModel.DataAnnotations;

namespace Realtime.Api.Sessions;

/// <summary>
/// permessage-deflate (RFC 7692), bound from <c>Realtime:Compression</c>. Off by default: a socket that keeps a
/// compression context between messages holds zlib state (hundreds of KiB with a full window), so by default no
/// context is kept either way and an idle socket costs nothing more (docs/benchmarks.md has the figures).
/// </summary>
public sealed class CompressionOptions
{
    public const string Section = "Realtime:Compression";

    /// <summary>Negotiate permessage-deflate with clients that offer it.</summary>
    public bool Enabled { get; set; }

    /// <summary>Frames shorter than this go uncompressed: deflate saves little on them and costs a compressor each.</summary>
    [Range(0, int.MaxValue)]
    public int MinBytes { get; set; } = 256;

    /// <summary>The server's LZ77 window, 9 to 15 bits (a client may ask for less).</summary>
    [Range(9, 15)]
    public int ServerMaxWindowBits { get; set; } = 15;

    /// <summary>The window asked of clients that let the server choose it, 9 to 15 bits.</summary>
    [Range(9, 15)]
    public int ClientMaxWindowBits { get; set; } = 15;

    /// <summary>Keep the server's compression context from one message to the next: smaller frames, a compressor per socket.</summary>
    public bool ServerContextTakeover { get; set; }

    /// <summary>Let clients keep their context: smaller frames from them, a decompressor per socket that has sent one.
    /// Only sockets opened by the direct upgrade path can be told not to; on ASP.NET Core's path the client decides.</summary>
    public bool ClientContextTakeover { get; set; }
}
