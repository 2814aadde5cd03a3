using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>One frame as the server wrote it: opcode, FIN bit, (unmasked) payload, and RSV1 (permessage-deflate's "compressed").</summary>
public sealed record RawFrame(byte Opcode, bool Fin, byte[] Payload, bool Compressed = false)
{
    public const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    /// <summary>The status code of a close frame, or null when it carries none.</summary>
    public int? CloseCode => Opcode == Close && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string TextPayload => Encoding.UTF8.GetString(Opcode == Close && Payload.Length >= 2 ? Payload[2..] : Payload);
}

/// <summary>How a raw connection ended, seen from the client.</summary>
public sealed record RawEnding(int? CloseCode, string? CloseReason, IReadOnlyList<RawFrame> FramesBefore, bool ConnectionClosed, TimeSpan After);

/// <summary>
/// The reading side and the odd writes of a hand-written WebSocket client (<see cref="RawWebSocket"/>):
/// it reads the server's frames off the TCP stream, and writes frame headers that lie about their
/// length, so tests can see exactly which close code the server sends and when it drops the connection.
/// </summary>
public static class RawFrames
{
    /// <summary>Reads one frame; null when the server closed or reset the connection first.</summary>
    public static async Task<RawFrame?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new byte[2];
        if (!await FillAsync(stream, head, cancellationToken))
        {
            return null;
        }

        long length = head[1] & 0x7F;
        if (length == 126 || length == 127)
        {
            var extended = new byte[length == 126 ? 2 : 8];
            if (!await FillAsync(stream, extended, cancellationToken))
            {
                return null;
            }

            length = length == 126 ? BinaryPrimitives.ReadUInt16BigEndian(extended) : (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }

        Assert.True((head[1] & 0x80) == 0, "a server must not mask its frames (RFC 6455 §5.1)");
        Assert.InRange(length, 0, 16 * 1024 * 1024);
        var payload = new byte[length];
        return await FillAsync(stream, payload, cancellationToken) ? new RawFrame((byte)(head[0] & 0x0F), (head[0] & 0x80) != 0, payload, (head[0] & 0x40) != 0) : null;
    }

    /// <summary>
    /// Reads frames until the server's close frame, then waits for the server to drop the TCP
    /// connection. Pings are not answered: the client plays one that does nothing but read.
    /// </summary>
    public static async Task<RawEnding> ReadUntilClosedAsync(RawWebSocket socket, TimeSpan timeout, Action? onCloseFrame = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        var started = DateTime.UtcNow;
        var frames = new List<RawFrame>();
        try
        {
            while (await ReadAsync(socket.Stream, cts.Token) is { } frame)
            {
                if (frame.Opcode == RawFrame.Close)
                {
                    onCloseFrame?.Invoke();
                    var closed = await WaitForEndOfStreamAsync(socket.Stream, cts.Token);
                    return new RawEnding(frame.CloseCode, frame.TextPayload, frames, closed, DateTime.UtcNow - started);
                }

                frames.Add(frame);
            }
        }
        catch (IOException)
        {
            // reset by the server
        }
        catch (OperationCanceledException)
        {
            return new RawEnding(null, null, frames, ConnectionClosed: false, DateTime.UtcNow - started);
        }

        return new RawEnding(null, null, frames, ConnectionClosed: true, DateTime.UtcNow - started);
    }

    /// <summary>A client frame header that declares <paramref name="length"/> bytes, with its mask key; no payload.</summary>
    public static byte[] Header(byte opcode, ulong length, bool fin, byte[] maskKey, byte reserved = 0)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | reserved | opcode) };
        if (length < 126)
        {
            header.Add((byte)(0x80 | (int)length));
        }
        else if (length <= ushort.MaxValue)
        {
            header.AddRange([0x80 | 126, (byte)(length >> 8), (byte)length]);
        }
        else
        {
            var extended = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(extended, length);
            header.Add(0x80 | 127);
            header.AddRange(extended);
        }

        header.AddRange(maskKey);
        return [.. header];
    }

    /// <summary>Masks <paramref name="payload"/> as the frame's bytes from <paramref name="position"/> on.</summary>
    public static byte[] Mask(byte[] payload, byte[] maskKey, long position = 0)
    {
        var masked = new byte[payload.Length];
        for (var i = 0; i < payload.Length; i++)
        {
            masked[i] = (byte)(payload[i] ^ maskKey[(int)((position + i) % 4)]);
        }

        return masked;
    }

    public static byte[] NewMaskKey() => RandomNumberGenerator.GetBytes(4);

    private static async Task<bool> WaitForEndOfStreamAsync(Stream stream, CancellationToken cancellationToken)
    {
        var scratch = new byte[4096];
        try
        {
            while (await stream.ReadAsync(scratch, cancellationToken) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> FillAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            }
            catch (IOException e) when (e.InnerException is SocketException)
            {
                return false;
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
