using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.Api.Sessions;

/// <summary>
/// The plain WebSocket upgrade to <c>GET /ws</c> as browsers and client libraries send it, read straight off
/// the connection by <see cref="DirectUpgrade"/>. The reading is deliberately narrow: anything it does not
/// recognise as a clean HTTP/1.1 upgrade (another path or method, a body, a folded or non-ASCII header, a
/// repeated WebSocket header, a head over <see cref="MaxHeadBytes"/>) is <see cref="Parse.Decline"/>d and goes
/// to ASP.NET Core untouched, which answers it as it would any request. So this reader never has to produce an
/// error of its own, only recognise the common case.
/// </summary>
internal sealed class UpgradeRequest
{
    /// <summary>Heads longer than this (large cookies, say) take the ordinary HTTP path.</summary>
    public const int MaxHeadBytes = 8 * 1024;

    private static ReadOnlySpan<byte> Method => "GET /ws"u8;
    private static ReadOnlySpan<byte> Version => " HTTP/1.1"u8;
    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    private UpgradeRequest(string? query, string host, string origin, string key, string? protocols, string? extensions) =>
        (Query, Host, Origin, Key, Protocols, Extensions) = (query, host, origin, key, protocols, extensions);

    public enum Parse
    {
        /// <summary>A complete upgrade request: take the connection.</summary>
        Upgrade,

        /// <summary>So far a prefix of one: read more.</summary>
        NeedMore,

        /// <summary>Anything else: hand the bytes, unread, to the HTTP server.</summary>
        Decline,
    }

    /// <summary>The query string with its leading '?', or null.</summary>
    public string? Query { get; }

    public string Host { get; }

    /// <summary>The Origin header, or "" when there is none.</summary>
    public string Origin { get; }

    public string Key { get; }

    /// <summary>The <c>Sec-WebSocket-Protocol</c> header (the subprotocols the client asks for), or null.</summary>
    public string? Protocols { get; }

    /// <summary>The <c>Sec-WebSocket-Extensions</c> header (permessage-deflate offers), or null.</summary>
    public string? Extensions { get; }

    /// <summary>The <c>Sec-WebSocket-Accept</c> value for the key (RFC 6455 §4.2.2).</summary>
    public string AcceptKey() =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));

    /// <summary>Reads <paramref name="buffer"/> from its start; on <see cref="Parse.Upgrade"/>, <paramref name="end"/> is just past the head.</summary>
    public static Parse TryParse(ReadOnlySequence<byte> buffer, out UpgradeRequest? request, out SequencePosition end)
    {
        request = null;
        end = buffer.Start;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, EndOfHead, advancePastDelimiter: true))
        {
            return buffer.Length <= MaxHeadBytes && StartsLikeUpgrade(buffer) ? Parse.NeedMore : Parse.Decline;
        }

        if (head.Length + EndOfHead.Length > MaxHeadBytes)
        {
            return Parse.Decline;
        }

        Span<byte> bytes = stackalloc byte[(int)head.Length];
        head.CopyTo(bytes);
        request = Read(bytes);
        end = reader.Position;
        return request is null ? Parse.Decline : Parse.Upgrade;
    }

    // Whether what has arrived can still become "GET /ws " or "GET /ws?".
    private static bool StartsLikeUpgrade(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[Method.Length + 1];
        var length = (int)Math.Min(buffer.Length, start.Length);
        buffer.Slice(0, length).CopyTo(start);
        start = start[..length];
        return length <= Method.Length
            ? Method.StartsWith(start)
            : start.StartsWith(Method) && start[^1] is (byte)' ' or (byte)'?';
    }

    private static UpgradeRequest? Read(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        if (!requestLine.StartsWith(Method) || !requestLine.EndsWith(Version))
        {
            return null;
        }

        var target = requestLine[Method.Length..^Version.Length];
        if (target.Length > 0 && (target[0] != (byte)'?' || !IsVisible(target)))
        {
            return null;
        }

        string? host = null, origin = null, key = null, protocols = null, extensions = null;
        bool upgrade = false, connection = false, version = false;
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        Span<byte> decoded = stackalloc byte[18];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || !IsValue(line[(colon + 1)..]))
            {
                return null; // no name, a space before the colon, a folded line, or a byte outside ASCII
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Is(name, "host"))
            {
                if (host is not null || value.IsEmpty)
                {
                    return null;
                }

                host = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "origin"))
            {
                if (origin is not null)
                {
                    return null;
                }

                origin = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "sec-websocket-key"))
            {
                if (key is not null || value.Length != 24
                    || Base64.DecodeFromUtf8(value, decoded, out _, out var length) != OperationStatus.Done || length != 16)
                {
                    return null;
                }

                key = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "sec-websocket-protocol"))
            {
                if (protocols is not null)
                {
                    return null;
                }

                protocols = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "sec-websocket-extensions"))
            {
                if (extensions is not null)
                {
                    return null;
                }

                extensions = Encoding.ASCII.GetString(value);
            }
            else if (Is(name, "sec-websocket-version"))
            {
                if (version || !value.SequenceEqual("13"u8))
                {
                    return null;
                }

                version = true;
            }
            else if (Is(name, "upgrade"))
            {
                if (upgrade || !HasToken(value, "websocket"))
                {
                    return null;
                }

                upgrade = true;
            }
            else if (Is(name, "connection"))
            {
                if (connection || !HasToken(value, "upgrade"))
                {
                    return null;
                }

                connection = true;
            }
            else if (Is(name, "content-length") || Is(name, "transfer-encoding"))
            {
                return null; // an upgrade request carries no body; let the HTTP server judge this one
            }
        }

        return host is not null && key is not null && upgrade && connection && version
            ? new UpgradeRequest(target.IsEmpty ? null : Encoding.ASCII.GetString(target), host, origin ?? "", key, protocols, extensions)
            : null;
    }

    private static bool Is(ReadOnlySpan<byte> name, string expected) => Ascii.EqualsIgnoreCase(name, expected);

    // A comma-separated list (Connection: keep-alive, Upgrade) holding the token, in any case.
    private static bool HasToken(ReadOnlySpan<byte> value, string token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    // RFC 9110 token characters.
    private static bool IsToken(ReadOnlySpan<byte> name) =>
        name.IndexOfAnyExcept(TokenChars) < 0;

    private static bool IsValue(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is < 0x20 and not (byte)'\t' or >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsVisible(ReadOnlySpan<byte> target)
    {
        foreach (var b in target)
        {
            if (b is <= 0x20 or >= 0x7F or (byte)'#')
            {
                return false;
            }
        }

        return true;
    }

    private static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);
}
