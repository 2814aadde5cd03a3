using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;

namespace Realtime.Bench.ClusterProbe;

/// <summary>
/// One socket subscribed to the channel. It records the publish-to-deliver latency of every message
/// and checks the order guarantee: offsets must follow one another with no gap and no repeat.
/// </summary>
internal sealed class Subscriber(ClientWebSocket socket, long startOffset, int capacity) : IAsyncDisposable
{
    private readonly long[] _latencies = new long[capacity];
    private readonly CancellationTokenSource _abort = new();
    private long _lastOffset = startOffset;
    private volatile int _received;
    private volatile bool _closing;
    private Task _run = Task.CompletedTask;

    public int Received => _received;

    public int OrderViolations { get; private set; }

    public string? Failure { get; private set; }

    public ReadOnlySpan<long> Latencies => _latencies.AsSpan(0, _received);

    /// <summary>Opens the socket, subscribes, and returns once the subscribe reply has come.</summary>
    public static async Task<Subscriber> ConnectAsync(Uri url, string channel, int capacity, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(url, ct);
        await Frames.SendAsync(socket, $$"""{"id":1,"type":"subscribe","channel":"{{channel}}"}""", ct);
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (await Frames.ReceiveAsync(socket, buffer, ct))
        {
            if (Frames.Reply(buffer.WrittenSpan) is (1, var error))
            {
                if (error is not null)
                {
                    throw new InvalidOperationException($"subscribe failed: {error}");
                }

                return new Subscriber(socket, StartOffset(buffer.WrittenSpan), capacity);
            }
        }

        throw new InvalidOperationException($"the server closed the socket before the subscribe reply ({socket.CloseStatus} {socket.CloseStatusDescription})");
    }

    public void Start() => _run = Task.Run(() => ReceiveAsync(_abort.Token));

    private async Task ReceiveAsync(CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (await Frames.ReceiveAsync(socket, buffer, ct))
            {
                if (!Frames.TryReadMessage(buffer.WrittenSpan, out var offset, out var sentAt))
                {
                    if (Frames.UnsubscribedReason(buffer.WrittenSpan) is { } reason)
                    {
                        Failure = $"unsubscribed by the server: {reason}";
                    }

                    continue; // join, leave, ...
                }

                var now = Stopwatch.GetTimestamp();
                if (offset != _lastOffset + 1)
                {
                    OrderViolations++;
                }

                _lastOffset = Math.Max(_lastOffset, offset);
                if (_received < _latencies.Length)
                {
                    _latencies[_received] = now - sentAt;
                    _received++;
                }
            }

            if (!_closing)
            {
                Failure = $"closed by the server: {socket.CloseStatus} {socket.CloseStatusDescription}";
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (WebSocketException e) when (!_closing)
        {
            Failure = e.Message;
        }
        catch (WebSocketException)
        {
            // closing: the server may drop the connection without a close frame
        }
    }

    /// <summary>Closes the socket gracefully: the receive loop ends when the server's close frame arrives.</summary>
    public async ValueTask DisposeAsync()
    {
        _closing = true;
        _abort.CancelAfter(TimeSpan.FromSeconds(5));
        if (socket.State == WebSocketState.Open)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", _abort.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        socket.Dispose();
        _abort.Dispose();
    }

    private static long StartOffset(ReadOnlySpan<byte> reply)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(reply.ToArray());
        return doc.RootElement.GetProperty("result").GetProperty("offset").GetInt64();
    }
}
