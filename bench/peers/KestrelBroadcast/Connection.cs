using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;

namespace Realtime.Bench.KestrelBroadcast;

/// <summary>
/// One socket: a reader loop that handles <c>subscribe</c> and <c>publish</c>, and one writer loop draining a
/// queue of frames (a WebSocket allows one send at a time). An idle socket holds no receive buffer: it waits
/// with a zero-byte read and rents one only when data arrives.
/// </summary>
internal sealed class Connection(WebSocket socket, Rooms rooms)
{
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<string> _channels = [];

    public void Enqueue(byte[] frame) => _outbound.Writer.TryWrite(frame);

    public async Task RunAsync()
    {
        var writer = WriteLoopAsync();
        try
        {
            await ReadLoopAsync();
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
        }
        finally
        {
            foreach (var channel in _channels)
            {
                rooms.Leave(channel, this);
            }

            _outbound.Writer.TryComplete();
            await writer;
        }
    }

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            var ready = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
            if (ready.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (count == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                Handle(buffer.AsSpan(0, count));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void Handle(ReadOnlySpan<byte> frame)
    {
        var command = Command.Parse(frame);
        switch (command.Type)
        {
            case "subscribe" when command.Channel is { } channel:
                rooms.Join(channel, this);
                _channels.Add(channel);
                break;
            case "publish" when command.Channel is { } channel:
                var message = Command.Message(channel, frame[command.Data]);
                foreach (var member in rooms.Members(channel))
                {
                    member.Enqueue(message);
                }

                break;
        }

        if (command.Id is { } id)
        {
            Enqueue(Command.Ack(id));
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var frame))
                {
                    await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }
}
