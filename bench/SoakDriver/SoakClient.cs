using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Realtime.Bench.SoakDriver;

/// <summary>
/// One held socket, subscribed to one channel. It reads every frame and records the delivery latency
/// of messages whose <c>data.t</c> is a <see cref="Stopwatch"/> timestamp of this process.
/// </summary>
internal sealed class SoakClient(LatencyHistogram latencies)
{
    private static readonly byte[] TimestampKey = "\"t\":"u8.ToArray();
    private readonly ClientWebSocket _socket = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Dropped { get; private set; }

    public async Task ConnectAsync(Uri webSocketUri, string token, string channel, CancellationToken cancellationToken)
    {
        _socket.Options.KeepAliveInterval = TimeSpan.Zero; // the server pings; the socket answers
        _socket.Options.SetBuffer(2048, 2048);
        await _socket.ConnectAsync(new Uri($"{webSocketUri}?token={token}"), cancellationToken);
        _ = ReceiveLoopAsync();
        await SendAsync($$"""{"id":1,"type":"subscribe","channel":"{{channel}}"}""", cancellationToken);
        await _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    public Task SendAsync(string json, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(json).AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken).AsTask();

    public async Task CloseAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[2048];
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                var received = Stopwatch.GetTimestamp();
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                _subscribed.TrySetResult();
                var frame = buffer.AsSpan(0, result.Count);
                var at = frame.IndexOf(TimestampKey);
                if (at >= 0 && Utf8Parser.TryParse(frame[(at + TimestampKey.Length)..], out long sent, out _))
                {
                    latencies.Record(Stopwatch.GetElapsedTime(sent, received).TotalMilliseconds);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        Dropped = true;
        _subscribed.TrySetException(new WebSocketException("the socket closed before the subscribe reply"));
    }
}
