using System.Text;
using System.Text.Json;
using Realtime.Api.Feeds;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Channels;
using Realtime.Grains.Stores;

namespace Realtime.Api.Tests.Channels;

/// <summary>
/// Live delivery is best effort: the stream can lose events (a silo that held a queue died, a delivery failed).
/// These tests lose them for real, by appending to the channel's log behind the grain's back, so the messages are
/// in history but were never pushed, and check that the front end never shows a silent gap.
/// </summary>
public sealed class GapTests
{
    [Fact]
    public async Task A_gap_history_can_fill_is_delivered_in_order_before_the_next_message()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "chat:gap" });
        await server.PostAsync<JsonElement>("/api/channels/chat:gap/messages", new { data = 1 });
        await AppendUnpushedAsync(server, "chat:gap", 2, 3, 4);
        await server.PostAsync<JsonElement>("/api/channels/chat:gap/messages", new { data = 5 });

        for (var offset = 1; offset <= 5; offset++)
        {
            var message = await client.NextPushAsync("message");
            Assert.Equal(offset, message.GetProperty("offset").GetInt64());
            Assert.Equal(offset, message.GetProperty("data").GetInt32());
        }
    }

    [Fact]
    public async Task A_stream_subscription_the_runtime_dropped_is_renewed_and_the_socket_misses_nothing()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.200" });
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "chat:dropped" });
        await server.PostAsync<JsonElement>("/api/channels/chat:dropped/messages", new { data = 1 });
        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());

        // What the runtime does to a subscription whose delivery failed: it is gone from pub-sub.
        var frontEnd = server.Services.GetRequiredService<FrontEndIdentity>();
        var stream = server.Services.GetRequiredService<IClusterClient>().GetStreamProvider(RealtimeStreams.Provider)
            .GetStream<RealtimeEvent>(RealtimeStreams.ForFrontEnd(frontEnd.Id, "chat:dropped"));
        foreach (var handle in await stream.GetAllSubscriptionHandles())
        {
            await handle.UnsubscribeAsync();
        }

        // Published with nobody reading the stream: these pushes are lost, the messages are in history.
        for (var i = 2; i <= 4; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/chat:dropped/messages", new { data = i });
        }

        var offsets = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            offsets.Add((await client.NextPushAsync("message")).GetProperty("offset").GetInt64());
        }

        Assert.Equal([2L, 3L, 4L], offsets);
        await Eventually.TrueAsync(async () => (await stream.GetAllSubscriptionHandles()).Count == 1, "the front end subscribed again");
        await server.PostAsync<JsonElement>("/api/channels/chat:dropped/messages", new { data = 5 });
        Assert.Equal(5, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_gap_history_cannot_fill_unsubscribes_the_client_who_then_learns_exactly_what_is_missing()
    {
        // History keeps only the newest message, so the front end cannot refill offsets 2 to 4.
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:lossy:HistorySize"] = "1" });
        await using var client = await server.ConnectAsync("alice");
        var sub = await client.CallAsync(new { type = "subscribe", channel = "lossy:feed" });
        await server.PostAsync<JsonElement>("/api/channels/lossy:feed/messages", new { data = 1 });
        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());

        await AppendUnpushedAsync(server, "lossy:feed", 2, 3, 4, historySize: 1);
        await server.PostAsync<JsonElement>("/api/channels/lossy:feed/messages", new { data = 5 });

        var unsubscribed = await client.NextPushAsync("unsubscribed");
        Assert.Equal("lossy:feed", unsubscribed.GetProperty("channel").GetString());
        Assert.True(await client.NoPushAsync("message", TimeSpan.FromMilliseconds(300)), "nothing after the gap is shown as if contiguous");

        var again = await client.CallAsync(new
        {
            type = "subscribe", channel = "lossy:feed", since = new { epoch = sub.GetProperty("epoch").GetString(), offset = 1 },
        });
        Assert.False(again.GetProperty("recovered").GetBoolean());
        Assert.Equal(5, again.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_gap_whose_start_history_has_lost_is_not_shown_as_a_jump()
    {
        // History keeps 3 messages. The stream loses 2 to 4, so when 5 arrives history holds 3, 4, 5:
        // the end of the gap but not its start (2). Delivering 3 and 4 would hide the loss of 2.
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:lossy:HistorySize"] = "3" });
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "lossy:partial" });
        await server.PostAsync<JsonElement>("/api/channels/lossy:partial/messages", new { data = 1 });
        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());

        await AppendUnpushedAsync(server, "lossy:partial", 2, 3, 4, historySize: 3);
        await server.PostAsync<JsonElement>("/api/channels/lossy:partial/messages", new { data = 5 });

        await client.NextPushAsync("unsubscribed");
        var offsets = client.Frames.Where(f => f.TryGetProperty("type", out var t) && t.GetString() == "message")
            .Select(f => f.GetProperty("offset").GetInt64());
        Assert.Equal([1L], offsets);
    }

    [Fact]
    public async Task A_refill_waiting_on_history_holds_up_no_other_channel_and_then_delivers_in_order()
    {
        // History reads after an offset (what a refill does) wait for the gate while it is closed.
        var gate = new GatedLog();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<IChannelLog>(sp => gate.Over(sp.GetRequiredService<IRealtimeStore>())));
        var frontEnd = server.Services.GetRequiredService<FrontEndIdentity>().Id;

        // Two channels on the same stream of this front end, so one delivery call carries both.
        const string slow = "chat:slow";
        var other = Enumerable.Range(0, 1000).Select(i => $"chat:other{i}")
            .First(c => RealtimeStreams.ForFrontEnd(frontEnd, c).Equals(RealtimeStreams.ForFrontEnd(frontEnd, slow)));
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = slow });
        await client.CallAsync(new { type = "subscribe", channel = other });
        await server.PostAsync<JsonElement>($"/api/channels/{slow}/messages", new { data = 1 });
        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());

        gate.Close();
        await AppendUnpushedAsync(server, slow, 2);
        await server.PostAsync<JsonElement>($"/api/channels/{slow}/messages", new { data = 3 });
        await Eventually.TrueAsync(() => Task.FromResult(gate.Waiting > 0), "the front end reads the gap from history");
        await server.PostAsync<JsonElement>($"/api/channels/{other}/messages", new { data = 10 });

        var next = await client.NextPushAsync("message");
        Assert.Equal(other, next.GetProperty("channel").GetString());

        gate.Open();
        var offsets = new List<long>();
        for (var i = 0; i < 2; i++)
        {
            var message = await client.NextPushAsync("message");
            Assert.Equal(slow, message.GetProperty("channel").GetString());
            offsets.Add(message.GetProperty("offset").GetInt64());
        }

        Assert.Equal([2L, 3L], offsets);
    }

    [Fact]
    public async Task Messages_behind_a_gap_wait_while_history_cannot_be_read_and_arrive_in_order_once_it_can()
    {
        var gate = new GatedLog();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<IChannelLog>(sp => gate.Over(sp.GetRequiredService<IRealtimeStore>())));
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "chat:outage" });
        await server.PostAsync<JsonElement>("/api/channels/chat:outage/messages", new { data = 1 });
        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());

        // The store stops answering history reads (a restart, say) just as the stream loses a message.
        gate.Fail();
        await AppendUnpushedAsync(server, "chat:outage", 2);
        await server.PostAsync<JsonElement>("/api/channels/chat:outage/messages", new { data = 3 });
        await Eventually.TrueAsync(() => Task.FromResult(gate.Refused >= 2), "the front end tries the read again");
        Assert.DoesNotContain(client.Frames, f => IsPush(f, "unsubscribed"));
        Assert.Equal(1, client.Frames.Count(f => IsPush(f, "message")));

        gate.Open();
        var offsets = new List<long>();
        for (var i = 0; i < 2; i++)
        {
            offsets.Add((await client.NextPushAsync("message")).GetProperty("offset").GetInt64());
        }

        Assert.Equal([2L, 3L], offsets);
        Assert.DoesNotContain(client.Frames, f => IsPush(f, "unsubscribed"));
    }

    private static bool IsPush(JsonElement frame, string type) => frame.TryGetProperty("type", out var t) && t.GetString() == type;

    private sealed class GatedLog
    {
        private volatile TaskCompletionSource _open = Opened();
        private volatile bool _failing;
        private int _waiting, _refused;

        public int Waiting => Volatile.Read(ref _waiting);

        public int Refused => Volatile.Read(ref _refused);

        public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>History reads after an offset fail as with the store down, until <see cref="Open"/>.</summary>
        public void Fail() => _failing = true;

        public void Open()
        {
            _failing = false;
            _open.TrySetResult();
        }

        public IChannelLog Over(IChannelLog inner) => new Log(this, inner);

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }

        private sealed class Log(GatedLog gate, IChannelLog inner) : IChannelLog
        {
            public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) => inner.AppendAsync(request, cancellationToken);

            public async Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
            {
                if (query.After is not null && gate._failing)
                {
                    Interlocked.Increment(ref gate._refused);
                    throw new EngineUnavailableException("the store is down (test)");
                }

                if (query.After is not null)
                {
                    Interlocked.Increment(ref gate._waiting);
                    await gate._open.Task.WaitAsync(cancellationToken);
                }

                return await inner.ReadHistoryAsync(channel, query, cancellationToken);
            }
        }
    }

    // Stored, but never pushed: what a lost stream event looks like to a front end.
    private static async Task AppendUnpushedAsync(RealtimeServer server, string channel, params int[] values) =>
        await AppendUnpushedAsync(server, channel, values, historySize: 100);

    private static async Task AppendUnpushedAsync(RealtimeServer server, string channel, int a, int b, int c, int historySize) =>
        await AppendUnpushedAsync(server, channel, [a, b, c], historySize);

    private static async Task AppendUnpushedAsync(RealtimeServer server, string channel, int[] values, int historySize)
    {
        var log = server.Services.GetRequiredService<IChannelLog>();
        foreach (var value in values)
        {
            await log.AppendAsync(new AppendRequest(channel, null, Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                historySize, TimeSpan.FromDays(1)), CancellationToken.None);
        }
    }
}
