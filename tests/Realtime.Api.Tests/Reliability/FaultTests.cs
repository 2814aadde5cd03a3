using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.Api.Tests.Cluster;
using Realtime.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Reliability;

/// <summary>
/// Faults with real processes under steady load: a node killed, PostgreSQL restarted, every client
/// reconnecting at once. The fast variants run in ./test.sh; the full-size ones are
/// <c>Category=Long</c> and run from tests/reliability/run-long.sh (docs/reliability.md).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public Task A_node_killed_under_load_loses_and_repeats_nothing_for_its_subscribers() =>
        KillNodeUnderLoadAsync(perSecond: 100, subscribers: 20, channels: 4, TimeSpan.FromSeconds(6));

    [Fact]
    [Trait("Category", "Long")]
    public Task A_node_killed_under_1000_messages_a_second_loses_and_repeats_nothing_for_200_subscribers() =>
        KillNodeUnderLoadAsync(perSecond: 1000, subscribers: 200, channels: 10, TimeSpan.FromSeconds(30));

    [Fact]
    public Task A_postgres_restart_under_load_keeps_every_ack_and_reports_every_failure() =>
        RestartPostgresUnderLoadAsync(perSecond: 100, subscribers: 20, channels: 4, TimeSpan.FromSeconds(8), outage: TimeSpan.FromSeconds(2));

    [Fact]
    public Task A_postgres_restart_under_load_behind_two_client_front_ends_keeps_every_ack_and_reports_every_failure() =>
        RestartPostgresUnderLoadAsync(perSecond: 100, subscribers: 20, channels: 4, TimeSpan.FromSeconds(8), outage: TimeSpan.FromSeconds(2), separate: true);

    [Fact]
    [Trait("Category", "Long")]
    public Task A_postgres_restart_under_1000_messages_a_second_keeps_every_ack_and_reports_every_failure() =>
        RestartPostgresUnderLoadAsync(perSecond: 1000, subscribers: 200, channels: 10, TimeSpan.FromSeconds(30), outage: TimeSpan.FromSeconds(5));

    [Fact]
    public Task A_reconnect_storm_of_500_clients_all_come_back_and_recover() => ReconnectStormAsync(clients: 500);

    [Fact]
    [Trait("Category", "Long")]
    public Task A_reconnect_storm_of_5000_clients_all_come_back_and_recover() => ReconnectStormAsync(clients: 5000);

    [Fact]
    public async Task A_silo_killed_under_load_behind_two_client_front_ends_loses_and_repeats_nothing()
    {
        // Silos hold the grains, front ends (Orleans clients) hold the sockets: killing a silo drops no socket.
        await using var cluster = await TestCluster.StartAsync(apiNodes: 0, LoadRun.ClusterSettings);
        var silo = await cluster.AddNodeAsync(silo: true);
        await cluster.AddNodeAsync(silo: true);
        TestNode[] frontEnds = [await cluster.AddNodeAsync(client: true), await cluster.AddNodeAsync(client: true)];
        const int channels = 4;
        var subs = await LoadRun.SubscribersAsync(i => frontEnds[i % 2].WebSocketUri, 20, i => LoadRun.Channel(i % channels), "sub");
        var publisher = await LoadClient.ConnectAsync(frontEnds[0].WebSocketUri, "publisher");
        subs.ForEach(s => s.RecordArrivals());
        try
        {
            var publishing = LoadRun.PublishAsync([publisher], channels, perSecond: 100, TimeSpan.FromSeconds(8));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var killed = Stopwatch.GetTimestamp();
            silo.Kill();

            var sent = await publishing;
            var publishedAfterKill = Stopwatch.GetElapsedTime(killed);
            var last = sent.Where(p => p.Outcome.Offset is not null).GroupBy(p => p.Channel).ToDictionary(g => g.Key, g => g.Max(p => p.Outcome.Offset!.Value));
            await LoadRun.CaughtUpAsync(subs, last, TimeSpan.FromSeconds(60));
            var caughtUp = Stopwatch.GetElapsedTime(killed);

            Assert.All(sent.Where(p => p.Outcome.Offset is null), p => Assert.Equal("unavailable", p.Outcome.Error));
            Assert.All(subs, s =>
            {
                Assert.False(s.Closed.IsCompleted, "no socket closed: the front ends lived");
                Assert.Equal(0, s.Duplicates);
                Assert.True(s.Missing == 0, $"{s.User} on {s.Channel} missed {s.Missing}: {string.Join(", ", s.Gaps)}");
                Assert.Equal(last[s.Channel!], s.Delivered);
            });
            foreach (var (channel, lastOffset) in last)
            {
                var history = await LoadRun.HistoryAsync(frontEnds[1].Http, channel);
                Assert.Equal(lastOffset, history.Count);
            }

            Measured.Record(output, "kill-silo-100-20", new Dictionary<string, object>
            {
                ["published"] = sent.Count,
                ["refused"] = sent.Count(p => p.Outcome.Offset is null),
                ["delivered"] = subs.Sum(s => s.Delivered),
                ["lost"] = subs.Sum(s => s.Missing),
                ["duplicates"] = subs.Sum(s => s.Duplicates),
                // SPEC §9.7 asks for every message at every subscriber within 10 s of the kill: reported here (the
                // wait above allows 60 s so a starved machine fails on what was lost, not on a timing).
                ["publishing_after_kill_ms"] = Measured.Round(publishedAfterKill.TotalMilliseconds),
                ["caught_up_after_kill_ms"] = Measured.Round(caughtUp.TotalMilliseconds),
                ["slowest_reply_ms"] = Measured.Round(sent.Max(p => p.ReplyMs)),
                ["slowest_delivery_ms"] = Measured.Round(subs.SelectMany(s => s.Latencies()).DefaultIfEmpty().Max()),
                ["slowest_delivery_after_ack_ms"] = Measured.Round(SlowestAfterAck(sent, subs)),
            });
        }
        finally
        {
            await LoadRun.DisposeAllAsync([.. subs, publisher]);
        }
    }

    [Fact]
    public async Task A_front_end_killed_sends_its_clients_through_the_other_and_their_presence_leaves_with_leave_pushed()
    {
        // Silos and front ends as separate processes, with the product's own heartbeat and node timeout (5 s, 15 s).
        await using var cluster = await TestCluster.StartAsync(apiNodes: 0, LoadRun.ClusterSettings);
        await cluster.AddNodeAsync(silo: true);
        await cluster.AddNodeAsync(silo: true);
        TestNode[] frontEnds = [await cluster.AddNodeAsync(client: true), await cluster.AddNodeAsync(client: true)];
        await using var watcher = await frontEnds[1].ConnectAsync("watcher");
        await watcher.CallAsync(new { type = "subscribe", channel = "chat:fe" });
        var mover = await LoadClient.ConnectAsync(frontEnds[0].WebSocketUri, "mover");
        await using var ghost = await frontEnds[0].ConnectAsync("ghost");
        try
        {
            await mover.SubscribeAsync("chat:fe");
            await ghost.CallAsync(new { type = "subscribe", channel = "chat:fe" });
            await watcher.NextPushAsync("join");
            await watcher.NextPushAsync("join");
            for (var i = 0; i < 3; i++)
            {
                await watcher.CallAsync(new { type = "publish", channel = "chat:fe", data = new { n = i } });
            }

            await Eventually.TrueAsync(() => Task.FromResult(mover.LastOffset == 3), "the mover has the first three messages");

            var killed = Stopwatch.GetTimestamp();
            frontEnds[0].Kill();
            Assert.Null(await mover.Closed.WaitAsync(TimeSpan.FromSeconds(15))); // dropped, no close frame
            for (var i = 3; i < 6; i++)
            {
                await watcher.CallAsync(new { type = "publish", channel = "chat:fe", data = new { n = i } });
            }

            // The client comes back through the other front end and recovers what it missed with since.
            await mover.ReconnectAsync(frontEnds[1].WebSocketUri);
            await LoadRun.CaughtUpAsync([mover], new Dictionary<string, long> { ["chat:fe"] = 6 }, TimeSpan.FromSeconds(30));
            Assert.Equal((0, 0, 6), (mover.Missing, mover.Duplicates, mover.Delivered));

            // The dead front end stops renewing: its members leave, with leave pushed, whichever silo holds the channel.
            var left = new HashSet<string>();
            while (left.Count < 2)
            {
                var leave = await watcher.NextPushAsync("leave", TimeSpan.FromSeconds(60));
                left.Add(leave.GetProperty("client").GetString()!);
            }

            var after = Stopwatch.GetElapsedTime(killed);
            var presence = await frontEnds[1].Http.GetFromJsonAsync<JsonElement>("/api/channels/chat:fe/presence");
            Assert.Equal(["mover", "watcher"], presence.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("user").GetString()).Order());
            Measured.Record(output, "kill-front-end", new Dictionary<string, object> { ["leave_after_ms"] = Measured.Round(after.TotalMilliseconds) });
        }
        finally
        {
            await mover.DisposeAsync();
        }
    }

    [Fact]
    public Task Every_silo_restarted_one_at_a_time_under_load_loses_repeats_and_drops_nothing() =>
        RollingRestartAsync(perSecond: 50, subscribers: 20, channels: 4);

    [Fact]
    [Trait("Category", "Long")]
    public Task Every_silo_restarted_one_at_a_time_under_500_messages_a_second_loses_repeats_and_drops_nothing_for_200_subscribers() =>
        RollingRestartAsync(perSecond: 500, subscribers: 200, channels: 10);

    // Silos (src/Silo) hold the grains and front ends (src/Api as Orleans clients) the sockets. Each silo in turn is
    // stopped gracefully (SIGTERM, as an orchestrator does) and started again, while both front ends publish and deliver.
    private async Task RollingRestartAsync(int perSecond, int subscribers, int channels)
    {
        await using var cluster = await TestCluster.StartAsync(apiNodes: 0, LoadRun.ClusterSettings);
        TestNode[] silos = [await cluster.AddNodeAsync(silo: true), await cluster.AddNodeAsync(silo: true)];
        TestNode[] frontEnds = [await cluster.AddNodeAsync(client: true), await cluster.AddNodeAsync(client: true)];
        var subs = await LoadRun.SubscribersAsync(i => frontEnds[i % 2].WebSocketUri, subscribers, i => LoadRun.Channel(i % channels), "sub");
        LoadClient[] publishers = [await LoadClient.ConnectAsync(frontEnds[0].WebSocketUri, "pub-a"), await LoadClient.ConnectAsync(frontEnds[1].WebSocketUri, "pub-b")];
        try
        {
            using var restarting = new CancellationTokenSource();
            var publishing = PublishUntilAsync(restarting.Token);
            var restarts = new List<double>();
            await Task.Delay(TimeSpan.FromSeconds(2));
            foreach (var silo in silos)
            {
                var started = Stopwatch.GetTimestamp();
                await silo.StopAsync();
                await silo.StartAsync(); // returns once the silo is ready again
                restarts.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                await Task.Delay(TimeSpan.FromSeconds(2)); // traffic on the restarted cluster before the next one goes
            }

            await restarting.CancelAsync();
            var sent = (await publishing).SelectMany(batch => batch).ToList();
            var last = sent.Where(p => p.Outcome.Offset is not null).GroupBy(p => p.Channel).ToDictionary(g => g.Key, g => g.Max(p => p.Outcome.Offset!.Value));
            await LoadRun.CaughtUpAsync(subs, last, TimeSpan.FromSeconds(60));

            Assert.All(sent.Where(p => p.Outcome.Offset is null), p => Assert.Equal("unavailable", p.Outcome.Error));
            Assert.All(subs, s =>
            {
                Assert.False(s.Closed.IsCompleted, "every socket stayed open: no front end went down");
                Assert.Equal(0, s.Duplicates);
                Assert.True(s.Missing == 0, $"{s.User} on {s.Channel} missed {s.Missing}: {string.Join(", ", s.Gaps)}");
                Assert.Equal(last[s.Channel!], s.Delivered);
            });
            foreach (var (channel, lastOffset) in last)
            {
                Assert.Equal(lastOffset, (await LoadRun.HistoryAsync(frontEnds[1].Http, channel)).Count);
            }

            // And every socket still receives: one more message on each channel reaches everyone.
            var final = await LoadRun.PublishAsync(publishers, channels, perSecond: channels * 4, TimeSpan.FromSeconds(0.5));
            Assert.All(final, p => Assert.NotNull(p.Outcome.Offset));
            await LoadRun.CaughtUpAsync(subs, final.GroupBy(p => p.Channel).ToDictionary(g => g.Key, g => g.Max(p => p.Outcome.Offset!.Value)), TimeSpan.FromSeconds(30));

            Measured.Record(output, $"rolling-restart-{perSecond}-{subscribers}", new Dictionary<string, object>
            {
                ["published"] = sent.Count,
                ["refused"] = sent.Count(p => p.Outcome.Offset is null),
                ["rate"] = perSecond,
                ["subscribers"] = subscribers,
                ["delivered"] = subs.Sum(s => s.Delivered),
                ["lost"] = subs.Sum(s => s.Missing),
                ["duplicates"] = subs.Sum(s => s.Duplicates),
                ["sockets_closed"] = subs.Count(s => s.Closed.IsCompleted),
                ["restart_max_s"] = Measured.Round(restarts.Max()),
            });
        }
        finally
        {
            await LoadRun.DisposeAllAsync([.. subs, .. publishers]);
        }

        // Publishes in one-second rounds until told to stop, so the load lasts exactly as long as the restarts.
        async Task<List<List<SentPublish>>> PublishUntilAsync(CancellationToken stop)
        {
            var rounds = new List<List<SentPublish>>();
            while (!stop.IsCancellationRequested)
            {
                rounds.Add(await LoadRun.PublishAsync(publishers, channels, perSecond, TimeSpan.FromSeconds(1)));
            }

            return rounds;
        }
    }

    private async Task KillNodeUnderLoadAsync(int perSecond, int subscribers, int channels, TimeSpan duration)
    {
        await using var cluster = await TestCluster.StartAsync(apiNodes: 2, LoadRun.ClusterSettings);
        var subs = await LoadRun.SubscribersAsync(i => cluster[i % 2].WebSocketUri, subscribers, i => LoadRun.Channel(i % channels), "sub");
        var onA = subs.Where((_, i) => i % 2 == 0).ToList();
        var publisher = await LoadClient.ConnectAsync(cluster[1].WebSocketUri, "publisher");
        try
        {
            var publishing = LoadRun.PublishAsync([publisher], channels, perSecond, duration);
            await Task.Delay(duration / 3);

            // SIGKILL: no goodbye to the clients, no cleanup in PostgreSQL. Each client on node A notices
            // the drop and comes back through node B with since, as a real client would.
            var killed = Stopwatch.GetTimestamp();
            cluster[0].Kill();
            var reconnects = await Task.WhenAll(onA.Select(async s =>
            {
                Assert.Null(await s.Closed.WaitAsync(TimeSpan.FromSeconds(15)));
                await s.ReconnectAsync(cluster[1].WebSocketUri);
                return Stopwatch.GetElapsedTime(killed).TotalMilliseconds;
            }));

            var sent = await publishing;
            var last = sent.Where(p => p.Outcome.Offset is not null).GroupBy(p => p.Channel).ToDictionary(g => g.Key, g => g.Max(p => p.Outcome.Offset!.Value));
            await LoadRun.CaughtUpAsync(subs, last, TimeSpan.FromSeconds(60));

            // The publisher's node lives, but a channel grain may have died with node A: until the cluster notices,
            // publishes to it are refused with unavailable, never acknowledged and dropped.
            Assert.All(sent.Where(p => p.Outcome.Offset is null), p => Assert.Equal("unavailable", p.Outcome.Error));
            var failed = sent.Count(p => p.Outcome.Offset is null);
            Assert.All(subs, s =>
            {
                Assert.Equal(0, s.Duplicates);
                Assert.True(s.Missing == 0, $"{s.User} on {s.Channel} missed {s.Missing}: {string.Join(", ", s.Gaps)}");
                Assert.Equal(0, s.Unrecovered);
                Assert.Equal(last[s.Channel!], s.Delivered);
            });
            Measured.Record(output, $"kill-node-{perSecond}-{subscribers}", new Dictionary<string, object>
            {
                ["published"] = sent.Count,
                ["refused"] = failed,
                ["rate"] = perSecond,
                ["subscribers"] = subscribers,
                ["reconnected"] = onA.Count,
                ["delivered"] = subs.Sum(s => s.Delivered),
                ["lost"] = subs.Sum(s => s.Missing),
                ["duplicates"] = subs.Sum(s => s.Duplicates),
                ["reconnect_p50_ms"] = Measured.Round(Measured.Percentile(reconnects, 50)),
                ["reconnect_max_ms"] = Measured.Round(reconnects.Max()),
            });
        }
        finally
        {
            await LoadRun.DisposeAllAsync([.. subs, publisher]);
        }
    }

    private async Task RestartPostgresUnderLoadAsync(int perSecond, int subscribers, int channels, TimeSpan duration, TimeSpan outage, bool separate = false)
    {
        // Two co-hosted nodes, or (separate) two silos behind two front ends that are Orleans clients.
        await using var cluster = await TestCluster.StartAsync(apiNodes: separate ? 0 : 2, LoadRun.ClusterSettings);
        TestNode[] silos = separate ? [await cluster.AddNodeAsync(silo: true), await cluster.AddNodeAsync(silo: true)] : [];
        TestNode[] nodes = separate ? [await cluster.AddNodeAsync(client: true), await cluster.AddNodeAsync(client: true)] : [cluster[0], cluster[1]];
        var subs = await LoadRun.SubscribersAsync(i => nodes[i % 2].WebSocketUri, subscribers, i => LoadRun.Channel(i % channels), "sub");
        LoadClient[] publishers = [await LoadClient.ConnectAsync(nodes[0].WebSocketUri, "pub-a"), await LoadClient.ConnectAsync(nodes[1].WebSocketUri, "pub-b")];
        try
        {
            var publishing = LoadRun.PublishAsync(publishers, channels, perSecond, duration);
            await Task.Delay(duration / 3);
            await cluster.Postgres.KillAsync();
            await Task.Delay(outage);
            await cluster.Postgres.StartAgainAsync();
            var sent = await publishing;
            await Eventually.TrueAsync(async () => (await Task.WhenAll(nodes.Concat(silos).Select(n => n.IsReadyAsync()))).All(ready => ready),
                "every node ready again", TimeSpan.FromSeconds(30));

            // Judge against what PostgreSQL holds, not against what the clients were told.
            var stored = new Dictionary<string, Dictionary<long, long>>();
            for (var c = 0; c < channels; c++)
            {
                stored[LoadRun.Channel(c)] = await LoadRun.HistoryAsync(nodes[1].Http, LoadRun.Channel(c));
            }

            var acked = sent.Where(p => p.Outcome.Offset is not null).ToList();
            var refused = sent.Where(p => p.Outcome.Error is not null).ToList();
            var unanswered = sent.Count(p => p.Outcome is { Offset: null, Error: null });
            Assert.All(acked, p => Assert.Equal(p.N, stored[p.Channel].GetValueOrDefault(p.Outcome.Offset!.Value, -1)));
            Assert.Equal(0, unanswered);
            Assert.All(refused, p => Assert.Equal("unavailable", p.Outcome.Error));
            Assert.True(refused.Count > 0, "publishes during the outage were refused");
            var storedNumbers = stored.Values.SelectMany(h => h.Values).ToHashSet();
            var refusedButStored = refused.Count(p => storedNumbers.Contains(p.N));

            // Subscribers end with every stored message, in order and once; a front end whose stream lost
            // pushes refills from history or tells its clients to resubscribe with since.
            var last = stored.ToDictionary(kv => kv.Key, kv => kv.Value.Count == 0 ? 0 : kv.Value.Keys.Max());
            await LoadRun.CaughtUpAsync(subs, last, TimeSpan.FromSeconds(60));
            Assert.All(subs, s =>
            {
                Assert.Equal(0, s.Duplicates);
                Assert.True(s.Missing == 0, $"{s.User} on {s.Channel} missed {s.Missing}: {string.Join(", ", s.Gaps)}");
                Assert.Equal(last[s.Channel!], s.Delivered);
            });
            Measured.Record(output, $"postgres-restart-{perSecond}-{subscribers}{(separate ? "-separate" : "")}", new Dictionary<string, object>
            {
                ["published"] = sent.Count,
                ["rate"] = perSecond,
                ["outage_s"] = outage.TotalSeconds,
                ["acked"] = acked.Count,
                ["acked_missing_from_history"] = 0,
                ["refused_unavailable"] = refused.Count,
                ["unanswered"] = unanswered,
                ["refused_but_stored"] = refusedButStored,
                ["subscribers"] = subscribers,
                ["delivered"] = subs.Sum(s => s.Delivered),
                ["lost"] = subs.Sum(s => s.Missing),
                ["duplicates"] = subs.Sum(s => s.Duplicates),
                ["resubscribed_after_unsubscribed"] = subs.Sum(s => s.Evictions),
            });
        }
        finally
        {
            await LoadRun.DisposeAllAsync([.. subs, .. publishers]);
        }
    }

    private async Task ReconnectStormAsync(int clients)
    {
        const int channels = 50;
        await using var cluster = await TestCluster.StartAsync(apiNodes: 2, LoadRun.ClusterSettings);
        var subs = await LoadRun.SubscribersAsync(_ => cluster[0].WebSocketUri, clients, i => LoadRun.Channel(i % channels), "storm", parallel: 200);
        try
        {
            for (var c = 0; c < channels; c++)
            {
                using var response = await cluster[1].Http.PostAsJsonAsync($"/api/channels/{LoadRun.Channel(c)}/messages", new { data = new { n = c } });
                response.EnsureSuccessStatusCode();
            }

            await LoadRun.CaughtUpAsync(subs, Enumerable.Range(0, channels).ToDictionary(LoadRun.Channel, _ => 1L), TimeSpan.FromSeconds(60));

            // Every client of node A loses its socket at the same instant and reconnects at once.
            var killed = Stopwatch.GetTimestamp();
            cluster[0].Kill();
            var retries = 0;
            // Until the cluster has declared node A's silo dead, a subscribe to a channel whose grain lived there is
            // answered unavailable: a client tries again, as the JS client does, within SPEC §9.7's 30 s and then some.
            var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var back = await Task.WhenAll(subs.Select(async s =>
            {
                await s.Closed.WaitAsync(TimeSpan.FromSeconds(30));
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await s.ReconnectAsync(cluster[1].WebSocketUri);
                        return Stopwatch.GetElapsedTime(killed).TotalMilliseconds;
                    }
                    catch (Exception) when (DateTime.UtcNow < giveUp)
                    {
                        Interlocked.Increment(ref retries);
                        await Task.Delay(Random.Shared.Next(100, 500));
                    }
                }
            }));
            var allBack = Stopwatch.GetElapsedTime(killed);

            // Back means live: a message published now reaches every one of them.
            for (var c = 0; c < channels; c++)
            {
                using var response = await cluster[1].Http.PostAsJsonAsync($"/api/channels/{LoadRun.Channel(c)}/messages", new { data = new { n = channels + c } });
                response.EnsureSuccessStatusCode();
            }

            await LoadRun.CaughtUpAsync(subs, Enumerable.Range(0, channels).ToDictionary(LoadRun.Channel, _ => 2L), TimeSpan.FromSeconds(60));
            Assert.All(subs, s => Assert.Equal((0L, 0L, 0, 2L), (s.Duplicates, s.Missing, s.Unrecovered, s.Delivered)));
            Measured.Record(output, $"reconnect-storm-{clients}", new Dictionary<string, object>
            {
                ["clients"] = clients,
                ["all_back_ms"] = Measured.Round(allBack.TotalMilliseconds),
                ["p50_ms"] = Measured.Round(Measured.Percentile(back, 50)),
                ["p99_ms"] = Measured.Round(Measured.Percentile(back, 99)),
                ["retries"] = retries,
            });
        }
        finally
        {
            await LoadRun.DisposeAllAsync(subs);
        }
    }

    // The longest any subscriber waited for a message after its publisher had the acknowledgement (SPEC §9.7:
    // subscribers keep receiving every message within 10 s); a message can arrive before its ack does (0).
    private static double SlowestAfterAck(List<SentPublish> sent, List<LoadClient> subscribers)
    {
        var ackedAt = sent.Where(p => p.Outcome.Offset is not null).ToDictionary(p => p.N, p => p.RepliedAt);
        return subscribers.SelectMany(s => s.Arrivals())
            .Where(a => ackedAt.ContainsKey(a.Key))
            .Select(a => Math.Max(0, Stopwatch.GetElapsedTime(ackedAt[a.Key], a.Value).TotalMilliseconds))
            .DefaultIfEmpty()
            .Max();
    }
}
