using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Realtime.Bench.LoadGen.Net;

/// <summary>
/// A minimal RFC 6455 client straight on a <see cref="Socket"/>, so one core can drive tens of thousands of
/// sockets: one receive buffer per socket, frames parsed in place (several per read when they queue up), no
/// allocation per received frame, pings answered with pongs. Sends are synchronous and may carry several
/// frames in one system call.
/// </summary>
internal sealed class WsConnection
{
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24; // pick the port at connect time, so one source address serves 28k+ sockets

    private readonly Socket _socket;
    private readonly IFrameSink _sink;
    private readonly Lock _sendLock = new();
    private readonly byte[] _mask = RandomNumberGenerator.GetBytes(4);
    private byte[] _buffer;
    private int _count;
    private byte[]? _message; // a fragmented message being reassembled (SignalR sends one pipe read as several fragments)
    private int _messageLength;
    private int _closing;        // a close frame has been sent (by either side's initiative)
    private volatile bool _released; // the generator itself closed or aborted the connection
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WsConnection(Socket socket, byte[] buffer, int count, IFrameSink sink, int index)
    {
        _socket = socket;
        _buffer = buffer;
        _count = count;
        _sink = sink;
        Index = index;
    }

    public int Index { get; }

    /// <summary>A reply the caller waits for (subscribe, handshake); completed by the sink.</summary>
    public TaskCompletionSource<bool>? Pending { get; set; }

    /// <summary>True once the generator itself closed or aborted the connection: its end is no drop. A close the
    /// server starts (a slow-consumer 4008, say) leaves it false, so that end counts as dropped.</summary>
    public bool Released => _released;

    public Task Ended => _ended.Task;

    public static async Task<WsConnection> ConnectAsync(
        IPEndPoint server, IPAddress? source, string pathAndQuery, IFrameSink sink, int index, CancellationToken ct, string upgradeHeaders = "")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(server, ct).ConfigureAwait(false);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = Encoding.ASCII.GetBytes(
                $"GET {pathAndQuery} HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{upgradeHeaders}\r\n");
            await socket.SendAsync(request, SocketFlags.None, ct).ConfigureAwait(false);

            var buffer = new byte[4096];
            var count = 0;
            int end;
            while ((end = buffer.AsSpan(0, count).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (count == buffer.Length)
                {
                    throw new IOException("upgrade response headers over 4 KiB");
                }

                var n = await socket.ReceiveAsync(buffer.AsMemory(count), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("connection closed during the upgrade");
                }

                count += n;
            }

            if (!buffer.AsSpan().StartsWith("HTTP/1.1 101"u8))
            {
                var line = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, end).IndexOf("\r\n"u8) is var eol and >= 0 ? eol : end);
                throw new IOException($"upgrade refused: {line}");
            }

            var rest = count - (end + 4);
            buffer.AsSpan(end + 4, rest).CopyTo(buffer);
            var connection = new WsConnection(socket, buffer, rest, sink, index);
            _ = connection.ReceiveLoopAsync();
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one text frame and waits for the reply the sink reports through <see cref="Pending"/>.</summary>
    public async Task<bool> RequestAsync(ReadOnlyMemory<byte> text, TimeSpan timeout)
    {
        var pending = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Pending = pending;
        SendText(text.Span);
        var done = await Task.WhenAny(pending.Task, Task.Delay(timeout)).ConfigureAwait(false);
        return done == pending.Task && pending.Task.Result;
    }

    public void SendText(ReadOnlySpan<byte> payload) => SendFrame(0x1, payload);

    /// <summary>Sends frames already framed and masked by <see cref="Frame"/>, in one system call.</summary>
    public void SendRaw(ReadOnlySpan<byte> frames)
    {
        lock (_sendLock)
        {
            while (!frames.IsEmpty)
            {
                var sent = _socket.Send(frames);
                frames = frames[sent..];
            }
        }
    }

    /// <summary>Appends a masked client frame for <paramref name="payload"/> to <paramref name="destination"/>; returns its length.</summary>
    public int Frame(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload)
    {
        var header = 2;
        destination[0] = (byte)(0x80 | opcode);
        if (payload.Length < 126)
        {
            destination[1] = (byte)(0x80 | payload.Length);
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            destination[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
            header = 4;
        }
        else
        {
            destination[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payload.Length);
            header = 10;
        }

        _mask.CopyTo(destination[header..]);
        header += 4;
        var body = destination.Slice(header, payload.Length);
        for (var i = 0; i < payload.Length; i++)
        {
            body[i] = (byte)(payload[i] ^ _mask[i & 3]);
        }

        return header + payload.Length;
    }

    public static int FrameSize(int payloadLength) => payloadLength + (payloadLength < 126 ? 6 : payloadLength <= ushort.MaxValue ? 8 : 14);

    /// <summary>Starts the close handshake and waits (bounded) for the server to end the connection.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        _released = true;
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            try
            {
                SendFrame(0x8, [0x03, 0xE8]); // 1000 normal closure
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        await Task.WhenAny(Ended, Task.Delay(timeout)).ConfigureAwait(false);
        _socket.Dispose();
    }

    /// <summary>Drops the connection without a close handshake.</summary>
    public void Abort()
    {
        _released = true;
        Volatile.Write(ref _closing, 1);
        _socket.Dispose();
    }

    private void SendFrame(byte opcode, ReadOnlySpan<byte> payload)
    {
        var size = FrameSize(payload.Length);
        var frame = size <= 1024 ? stackalloc byte[size] : new byte[size];
        Frame(frame, opcode, payload);
        SendRaw(frame);
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            if (_count > 0 && !ProcessBuffered())
            {
                return;
            }

            while (true)
            {
                if (_count == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                var n = await _socket.ReceiveAsync(_buffer.AsMemory(_count), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                _count += n;
                if (!ProcessBuffered())
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            _ended.TrySetResult();
            _sink.OnClosed(this);
        }
    }

    private void OnData(bool fin, bool continuation, ReadOnlySpan<byte> payload)
    {
        if (fin && !continuation)
        {
            _sink.OnText(this, payload); // the usual case: a whole message in one frame, parsed in place
            return;
        }

        if (!continuation)
        {
            _messageLength = 0;
        }

        if (_message is null || _messageLength + payload.Length > _message.Length)
        {
            Array.Resize(ref _message, Math.Max(4096, (_messageLength + payload.Length) * 2));
        }

        payload.CopyTo(_message.AsSpan(_messageLength));
        _messageLength += payload.Length;
        if (fin)
        {
            _sink.OnText(this, _message.AsSpan(0, _messageLength));
            _messageLength = 0;
        }
    }

    // Parses every complete frame in the buffer; false once the server's close frame has arrived.
    private bool ProcessBuffered()
    {
        var pos = 0;
        var open = true;
        while (open)
        {
            var available = _count - pos;
            if (available < 2)
            {
                break;
            }

            var b0 = _buffer[pos];
            var b1 = _buffer[pos + 1];
            long length = b1 & 0x7F;
            var header = 2;
            if (length == 126)
            {
                if (available < 4)
                {
                    break;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(pos + 2));
                header = 4;
            }
            else if (length == 127)
            {
                if (available < 10)
                {
                    break;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(pos + 2));
                header = 10;
            }

            if ((b1 & 0x80) != 0)
            {
                throw new IOException("the server sent a masked frame");
            }

            if (available < header + length)
            {
                if (header + length > _buffer.Length)
                {
                    // A frame larger than the buffer: make room for it after compacting below.
                    var larger = new byte[(int)Math.Max(_buffer.Length * 2L, header + length)];
                    _buffer.AsSpan(pos, available).CopyTo(larger);
                    _buffer = larger;
                    _count = available;
                    return true;
                }

                break;
            }

            var payload = _buffer.AsSpan(pos + header, (int)length);
            switch (b0 & 0x0F)
            {
                case 0x0 or 0x1 or 0x2:
                    OnData(fin: (b0 & 0x80) != 0, continuation: (b0 & 0x0F) == 0, payload);
                    break;
                case 0x8:
                    if (Interlocked.Exchange(ref _closing, 1) == 0)
                    {
                        SendFrame(0x8, payload.Length >= 2 ? payload[..2] : []);
                    }

                    open = false;
                    break;
                case 0x9:
                    SendFrame(0xA, payload);
                    break;
            }

            pos += header + (int)length;
        }

        if (pos > 0)
        {
            _buffer.AsSpan(pos, _count - pos).CopyTo(_buffer);
            _count -= pos;
        }

        return open;
    }
}

/// <summary>Receives what a <see cref="WsConnection"/> reads; called on socket completion threads.</summary>
internal interface IFrameSink
{
    void OnText(WsConnection connection, ReadOnlySpan<byte> payload);

    void OnClosed(WsConnection connection);
}
