using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// A WebSocket client written by hand on a plain TCP socket, for clients no library would be: one
/// that stops reading and never answers a ping, or one that sends frames a library refuses to send.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public NetworkStream Stream => _stream;

    /// <summary>This end's TCP port.</summary>
    public int LocalPort => ((System.Net.IPEndPoint)_tcp.Client.LocalEndPoint!).Port;

    /// <summary>The server's answer to the upgrade request, status line and headers.</summary>
    public string Handshake { get; private set; } = "";

    /// <summary>The <c>Sec-WebSocket-Key</c> this client sent.</summary>
    public string Key { get; private set; } = "";

    /// <summary>
    /// Opens the socket. <paramref name="extraHeaders"/> (each ending in CRLF) go into the request; with
    /// <paramref name="pauseMidway"/> the request is written in two halves with that pause between them.
    /// <paramref name="smallReceiveBuffer"/> (4 KB) makes a client that stops reading back-pressure the server soon.
    /// A client that must read promptly leaves it off: on loopback (64 KB segments) a 4 KB buffer can keep the
    /// receive window shut while it is empty, and the server's next bytes then wait on zero-window probes for seconds.
    /// </summary>
    public static async Task<RawWebSocket> ConnectAsync(Uri webSocketUri, string pathAndQuery, string extraHeaders = "", TimeSpan? pauseMidway = null,
        bool smallReceiveBuffer = true)
    {
        var tcp = smallReceiveBuffer ? new TcpClient { ReceiveBufferSize = 4096 } : new TcpClient();
        await tcp.ConnectAsync(webSocketUri.Host, webSocketUri.Port);
        var raw = new RawWebSocket(tcp) { Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)) };
        await WriteUpgradeAsync(raw._stream, webSocketUri.Authority, pathAndQuery, raw.Key, extraHeaders, pauseMidway);
        raw.Handshake = await raw.ReadHeadersAsync();
        Assert.StartsWith("HTTP/1.1 101", raw.Handshake);
        return raw;
    }

    /// <summary>Writes an upgrade request; with <paramref name="pauseMidway"/>, in two halves with that pause between them.</summary>
    public static async Task WriteUpgradeAsync(Stream stream, string authority, string pathAndQuery, string key, string extraHeaders = "", TimeSpan? pauseMidway = null)
    {
        var request = Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                                              $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extraHeaders}\r\n");
        var half = pauseMidway is null ? request.Length : request.Length / 2;
        await stream.WriteAsync(request.AsMemory(0, half));
        if (pauseMidway is { } pause)
        {
            await Task.Delay(pause);
            await stream.WriteAsync(request.AsMemory(half));
        }
    }

    /// <summary>Sends one masked frame (as a client must) with the given opcode and FIN bit, and RSV1 when <paramref name="compressed"/>.</summary>
    public async Task SendFrameAsync(byte opcode, byte[] payload, bool fin = true, bool mask = true, bool compressed = false)
    {
        using var frame = new MemoryStream();
        frame.WriteByte((byte)((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode));
        var maskBit = mask ? 0x80 : 0;
        if (payload.Length < 126)
        {
            frame.WriteByte((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            frame.WriteByte((byte)(maskBit | 126));
            frame.Write([(byte)(payload.Length >> 8), (byte)payload.Length]);
        }
        else
        {
            frame.WriteByte((byte)(maskBit | 127));
            var length = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            frame.Write(length);
        }

        var body = payload.ToArray();
        if (mask)
        {
            var key = RandomNumberGenerator.GetBytes(4);
            frame.Write(key);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= key[i % 4];
            }
        }

        frame.Write(body);
        await _stream.WriteAsync(frame.ToArray());
    }

    public Task SendTextAsync(string text) => SendFrameAsync(0x1, Encoding.UTF8.GetBytes(text));

    private async Task<string> ReadHeadersAsync()
    {
        var headers = new StringBuilder();
        var one = new byte[1];
        while (!headers.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one) == 0)
            {
                break;
            }

            headers.Append((char)one[0]);
        }

        return headers.ToString();
    }

    /// <summary>Ends the connection with a TCP reset rather than a close, as a client that crashed would.</summary>
    public void Reset()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Close();
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
