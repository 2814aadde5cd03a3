using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Reliability;

/// <summary>What a publish came to: acknowledged with an offset, refused with an error code, or never answered.</summary>
public readonly record struct PublishOutcome(long? Offset, string? Error);

/// <summary>
/// A lean socket client for load and fault tests: thousands of them fit in one test process. It keeps
/// no frames, only what the tests judge: for its subscription, the last offset seen, duplicates and
/// gaps; for publishes, the outcome of each; and delivery latency when messages carry a timestamp
/// (<c>data.t</c>, in <see cref="Stopwatch"/> ticks of this process).
/// </summary>
public sealed class LoadClient : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<double> _latenciesMs = [];
    private long _nextId;
    private ClientWebSocket? _socket;
    private TaskCompletionSource<int?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LoadClient(string user) => User = user;

    public string User { get; }

    private int _sockets;

    public string? Channel { get; private set; }

    public string? Epoch { get; private set; }

    /// <summary>The highest offset delivered for <see cref="Channel"/>, live or recovered.</summary>
    public long LastOffset { get; private set; }

    public long Delivered { get; private set; }

    public long Duplicates { get; private set; }

    /// <summary>Messages skipped: an offset more than one above the previous one.</summary>
    public long Missing { get; private set; }

    /// <summary>Each jump in offsets, as "before→after (how it came, socket n)", to tell a failure where to look.</summary>
    public List<string> Gaps { get; } = [];

    /// <summary>Subscriptions that came back <c>recovered:false</c>.</summary>
    public int Unrecovered { get; private set; }

    /// <summary><c>unsubscribed</c> pushes: the server ended the subscription and the client subscribed again with since.</summary>
    public int Evictions { get; private set; }

    /// <summary>Completes with the close code (null: dropped without a close frame) when the current socket ends.</summary>
    public Task<int?> Closed => _closed.Task;

    public static async Task<LoadClient> ConnectAsync(Uri webSocketUri, string user)
    {
        var client = new LoadClient(user);
        await client.OpenAsync(webSocketUri);
        return client;
    }

    /// <summary>Subscribes; with a known position it recovers from there. Recovered messages count as delivered.</summary>
    public async Task SubscribeAsync(string channel)
    {
        if (channel != Channel)
        {
            (Channel, Epoch, LastOffset) = (channel, null, 0); // a new subscription: nothing to recover
        }

        object command = Epoch is null
            ? new { type = "subscribe", channel }
            : new { type = "subscribe", channel, since = new { epoch = Epoch, offset = LastOffset } };
        var reply = await RequestAsync(command);
        if (!reply.TryGetProperty("result", out _))
        {
            throw new InvalidOperationException($"{User}: subscribe to {channel} failed: {reply}");
        }
    }

    // Runs in the receive loop, before any frame that follows the reply: the live messages after it
    // must be judged against the position the reply gives.
    private void ApplySubscription(JsonElement result)
    {
        lock (_gate)
        {
            if (!result.GetProperty("recovered").GetBoolean())
            {
                Unrecovered++;
            }

            foreach (var message in result.GetProperty("messages").EnumerateArray())
            {
                Track(message.GetProperty("epoch").GetString()!, message.GetProperty("offset").GetInt64(), TimestampOf(message), source: "recovered", n: NumberOf(message));
            }

            // Live messages continue after the reply's offset; with nothing to recover that is where we start.
            Epoch ??= result.GetProperty("epoch").GetString();
            LastOffset = Math.Max(LastOffset, result.GetProperty("offset").GetInt64());
        }
    }

    /// <summary>After the node went away: connects to <paramref name="webSocketUri"/> and recovers from the last offset seen.
    /// While the cluster is failing over, the channel's grain may be unreachable for a moment (<c>unavailable</c>): like
    /// any client, this one tries again.</summary>
    public async Task ReconnectAsync(Uri webSocketUri)
    {
        await OpenAsync(webSocketUri);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Channel is not null)
        {
            try
            {
                await SubscribeAsync(Channel);
                return;
            }
            catch (InvalidOperationException e) when (e.Message.Contains("\"unavailable\"", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Sends a publish without waiting; the task completes with its outcome.</summary>
    public async Task<PublishOutcome> PublishAsync(string channel, long n)
    {
        try
        {
            var reply = await RequestAsync(new { type = "publish", channel, data = new { n, t = Stopwatch.GetTimestamp() } });
            return reply.TryGetProperty("result", out var result)
                ? new PublishOutcome(result.GetProperty("offset").GetInt64(), null)
                : new PublishOutcome(null, reply.GetProperty("error").GetProperty("code").GetString());
        }
        catch (Exception e) when (e is WebSocketException or TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
            return new PublishOutcome(null, null);
        }
    }

    public async Task<JsonElement> RequestAsync(object command)
    {
        var id = Interlocked.Increment(ref _nextId);
        var json = JsonSerializer.SerializeToNode(command)!.AsObject();
        json["id"] = id;
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        await _sending.WaitAsync();
        try
        {
            await _socket!.SendAsync(Encoding.UTF8.GetBytes(json.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }

        return await reply.Task.WaitAsync(ReplyTimeout);
    }

    private Dictionary<long, long>? _arrivals;

    /// <summary>From now on, keeps when each message (by <c>data.n</c>, as <see cref="PublishAsync"/> sends it) first arrived.</summary>
    public void RecordArrivals()
    {
        lock (_gate)
        {
            _arrivals ??= [];
        }
    }

    /// <summary>When each message arrived (<see cref="Stopwatch"/> ticks), by <c>data.n</c>, since <see cref="RecordArrivals"/>.</summary>
    public Dictionary<long, long> Arrivals()
    {
        lock (_gate)
        {
            return new Dictionary<long, long>(_arrivals ?? []);
        }
    }

    /// <summary>The delivery latencies recorded so far, in milliseconds; <paramref name="reset"/> starts a new window.</summary>
    public double[] Latencies(bool reset = false)
    {
        lock (_gate)
        {
            var copy = _latenciesMs.ToArray();
            if (reset)
            {
                _latenciesMs.Clear();
            }

            return copy;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket?.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                await _closed.Task.WaitAsync(cts.Token);
            }
            catch (Exception)
            {
                // the test is over; an unclean close is fine here
            }
        }

        _socket?.Dispose();
    }

    // Reconnecting replaces the socket but keeps the client's state: its position and counters.
    private async Task OpenAsync(Uri webSocketUri)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(new Uri($"{webSocketUri}?token={RealtimeServer.Token(User)}"), cts.Token);
        _socket?.Dispose();
        _socket = socket;
        _sockets++;
        var closed = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _closed = closed;
        _ = ReceiveLoopAsync(socket, closed);
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, TaskCompletionSource<int?> closed)
    {
        var buffer = new byte[16 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Fail((int?)socket.CloseStatus, closed);
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    OnFrame(message.GetBuffer().AsSpan(0, (int)message.Length));
                    message.SetLength(0);
                }
            }
        }
        catch (Exception)
        {
            Fail(null, closed);
        }
    }

    private void Fail(int? code, TaskCompletionSource<int?> closed)
    {
        foreach (var (id, waiter) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                waiter.TrySetException(new WebSocketException("the socket closed before the reply"));
            }
        }

        closed.TrySetResult(code);
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        var received = Stopwatch.GetTimestamp();
        using var doc = JsonDocument.Parse(frame.ToArray());
        var root = doc.RootElement;
        if (!root.TryGetProperty("type", out var type))
        {
            if (root.TryGetProperty("result", out var result) && result.TryGetProperty("recovered", out _)
                && result.GetProperty("channel").GetString() == Channel)
            {
                ApplySubscription(result);
            }

            if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt64(), out var waiter))
            {
                waiter.TrySetResult(root.Clone());
            }

            return;
        }

        switch (type.GetString())
        {
            case "message" when root.GetProperty("channel").GetString() == Channel:
                lock (_gate)
                {
                    Track(root.GetProperty("epoch").GetString()!, root.GetProperty("offset").GetInt64(), TimestampOf(root), received, n: NumberOf(root));
                }

                break;
            case "unsubscribed":
                lock (_gate)
                {
                    Evictions++;
                }

                _ = Task.Run(() => SubscribeAsync(Channel!));
                break;
        }
    }

    // Offsets must rise by exactly one: anything at or below the last is a duplicate, a jump is a gap.
    private void Track(string epoch, long offset, long? sentAt, long? receivedAt = null, string source = "live", long? n = null)
    {
        if (_arrivals is not null && n is { } number)
        {
            _arrivals.TryAdd(number, receivedAt ?? Stopwatch.GetTimestamp());
        }

        if (Epoch is not null && epoch != Epoch)
        {
            (Epoch, LastOffset) = (epoch, offset - 1); // a new history: follow it from here
        }

        Epoch = epoch;
        if (offset <= LastOffset)
        {
            Duplicates++;
            return;
        }

        if (offset > LastOffset + 1)
        {
            Gaps.Add($"{LastOffset}→{offset} ({source}, socket {_sockets})");
        }

        Missing += offset - LastOffset - 1;
        LastOffset = offset;
        Delivered++;
        if (sentAt is { } t && receivedAt is { } r)
        {
            _latenciesMs.Add(Stopwatch.GetElapsedTime(t, r).TotalMilliseconds);
        }
    }

    private static long? NumberOf(JsonElement message) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("n", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt64() : null;

    private static long? TimestampOf(JsonElement message) =>
        message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("t", out var t) ? t.GetInt64() : null;
}
