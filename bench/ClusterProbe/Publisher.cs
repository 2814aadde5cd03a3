using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace Realtime.Bench.ClusterProbe;

/// <summary>
/// Publishes over one socket, one command in flight at a time (a socket's commands run in order
/// anyway), until the shared counter reaches the number of messages to send.
/// </summary>
internal sealed class Publisher(ClientWebSocket socket, string channel, string padding)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public static async Task<Publisher> ConnectAsync(Uri url, string channel, int paddingBytes, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(url, ct);
        return new Publisher(socket, channel, new string('x', paddingBytes));
    }

    /// <summary>Sends messages numbered from <paramref name="next"/> until <paramref name="total"/>; records acknowledgements and errors.</summary>
    public async Task RunAsync(StrongBox<int> next, int total, ConcurrentBag<long> ackTimes, ConcurrentDictionary<string, int> errors, CancellationToken ct)
    {
        try
        {
            for (var seq = Interlocked.Increment(ref next.Value); seq <= total; seq = Interlocked.Increment(ref next.Value))
            {
                // data.t is this process's Stopwatch: subscribers in the same process subtract it on arrival.
                var sentAt = Stopwatch.GetTimestamp();
                await Frames.SendAsync(socket,
                    $$$"""{"id":{{{seq}}},"type":"publish","channel":"{{{channel}}}","data":{"seq":{{{seq}}},"t":{{{sentAt}}},"pad":"{{{padding}}}"}}""", ct);
                if (!await Frames.ReceiveAsync(socket, _buffer, ct))
                {
                    errors.AddOrUpdate($"closed {socket.CloseStatus} {socket.CloseStatusDescription}", 1, (_, n) => n + 1);
                    return;
                }

                var (_, error) = Frames.Reply(_buffer.WrittenSpan);
                if (error is null)
                {
                    ackTimes.Add(Stopwatch.GetTimestamp() - sentAt);
                }
                else
                {
                    errors.AddOrUpdate(error, 1, (_, n) => n + 1);
                }
            }

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        }
        catch (WebSocketException e)
        {
            errors.AddOrUpdate(e.Message, 1, (_, n) => n + 1);
        }
        finally
        {
            socket.Dispose();
        }
    }
}
