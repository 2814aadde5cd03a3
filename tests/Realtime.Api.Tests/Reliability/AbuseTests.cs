using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Reliability;

/// <summary>
/// One client abusing the node must not cost the others: a command flood is throttled and closed
/// while well-behaved clients lose nothing (and, in the Category=Long run, keep their latency), and
/// subscription churn leaves nothing behind.
/// Connections past MaxConnectionsPerUser are covered by
/// BadInputTests.A_connection_past_MaxConnectionsPerUser_is_told_why_and_closed_with_4029.
/// </summary>
[Collection(MeasuredCollection.Name)]
public sealed class AbuseTests(ITestOutputHelper output)
{
    private const string Room = "calm:room";
    private const double MinBaselineMs = 2;

    // Outcomes only: on a shared 2-core machine a latency bound is a flake waiting for a busy neighbour.
    [Fact]
    public Task A_command_flood_is_throttled_and_closed_while_100_calm_clients_lose_nothing_and_stay_open() => FloodAsync(compareLatency: false);

    // The latency comparison runs where it is measured and reported (tests/reliability/run-long.sh).
    [Fact]
    [Trait("Category", "Long")]
    public Task A_command_flood_is_throttled_and_closed_while_100_calm_clients_keep_their_latency() => FloodAsync(compareLatency: true);

    private async Task FloodAsync(bool compareLatency)
    {
        // The sessions' own log (opened, closed with what, aborted) goes into the message of a flood connection
        // that ended unlike the others.
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Namespaces:calm:JoinLeave"] = "false",
            ["Logging:LogLevel:Realtime.Api.Sessions"] = "Debug",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        var calm = await LoadRun.SubscribersAsync(_ => server.WebSocketUri, 100, _ => Room, "calm");

        var publisher = await LoadClient.ConnectAsync(server.WebSocketUri, "announcer");
        try
        {
            // The same steady traffic in alternating windows, calm and with a flooder hammering the node,
            // so whatever else the machine is doing weighs on both alike.
            await PublishForAsync(publisher, TimeSpan.FromSeconds(1)); // warm up
            calm.ForEach(c => c.Latencies(reset: true));
            var (baseline, underFlood) = (new List<double>(), new List<double>());
            var (baselineWindows, floodWindows) = (new List<double>(), new List<double>());
            var flooder = new Flooder(server);
            var flooding = flooder.RunAsync();
            var lastOffset = 0L;
            for (var window = 0; window < 10; window++)
            {
                flooder.Active = window % 2 == 1;
                lastOffset = await PublishForAsync(publisher, TimeSpan.FromMilliseconds(750));
                var latencies = calm.SelectMany(c => c.Latencies(reset: true)).ToList();
                (flooder.Active ? underFlood : baseline).AddRange(latencies);
                (flooder.Active ? floodWindows : baselineWindows).Add(Measured.Percentile(latencies, 99));
            }

            flooder.Stop();
            var floods = await flooding;

            Assert.True(floods.Count > 0, "the flooder got to run");
            // Each was throttled (rate_limited replies) before it was closed with 4029.
            var unlike = floods.Where(f => f.CloseCode != 4029 || f.RateLimited == 0).ToList();
            Assert.True(unlike.Count == 0, $"{unlike.Count} of {floods.Count} flood connections were not throttled and closed with 4029:\n"
                + string.Join("\n", unlike.Select(f => $"{f with { Sockets = null }}\n  server: {string.Join("\n  server: ", ServerLinesAbout(logs, f.User))}"
                    + (f.Sockets is { } sockets ? $"\n  sockets after 3 s:\n{sockets}" : ""))));
            Assert.True(floods.Count >= 5, $"the flooder came back after each close ({floods.Count} connections in five flood windows)");

            // Every calm client got every message, in order, and was never closed; the deadline is generous
            // because a flood may delay the tail of the last window, never lose it.
            await Eventually.TrueAsync(() => calm.All(c => c.LastOffset == lastOffset),
                $"every calm client received every publication, up to offset {lastOffset}", TimeSpan.FromSeconds(30));
            Assert.All(calm, c => Assert.Equal((0L, 0L), (c.Duplicates, c.Missing)));
            Assert.Empty(calm.Where(c => c.Closed.IsCompleted).Select(c => c.User)); // no calm client was closed
            if (!compareLatency)
            {
                return;
            }

            // Each side's p99 is that of its second-worst window: one pause of a busy machine (a CI neighbour,
            // a collection) spoils one window, while a flood that costs the calm clients spoils every one of its own.
            var (p99Base, p99Flood) = (SecondWorst(baselineWindows), SecondWorst(floodWindows));
            Measured.Record(output, "flood", new Dictionary<string, object>
            {
                ["calm_clients"] = calm.Count,
                ["deliveries_baseline"] = baseline.Count,
                ["deliveries_flood"] = underFlood.Count,
                ["p50_baseline_ms"] = Measured.Round(Measured.Percentile(baseline, 50), 2),
                ["p99_baseline_ms"] = Measured.Round(Measured.Percentile(baseline, 99), 2),
                ["p50_flood_ms"] = Measured.Round(Measured.Percentile(underFlood, 50), 2),
                ["p99_flood_ms"] = Measured.Round(Measured.Percentile(underFlood, 99), 2),
                ["p99_window_baseline_ms"] = baselineWindows.Select(w => Measured.Round(w, 2)).ToArray(),
                ["p99_window_flood_ms"] = floodWindows.Select(w => Measured.Round(w, 2)).ToArray(),
                ["flood_connections"] = floods.Count,
                ["flood_frames_sent"] = floods.Sum(f => f.Sent),
                ["closed_4029"] = floods.Count(f => f.CloseCode == 4029),
            });
            // Under 2 ms, a 2x bound would measure the scheduler's jitter rather than the flood.
            Assert.True(p99Flood <= 2 * Math.Max(p99Base, MinBaselineMs), $"p99 delivery latency (second-worst window) went from {p99Base:F1} ms to {p99Flood:F1} ms under the flood");
        }
        finally
        {
            await LoadRun.DisposeAllAsync([.. calm, publisher]);
        }
    }

    // What the server logged about a user's connections: the lines naming the user, and those naming its client ids.
    private static IEnumerable<string> ServerLinesAbout(LogCapture logs, string user)
    {
        var entries = logs.Entries.ToList();
        var clients = entries.Where(e => e.Message.Contains($"(user {user})", StringComparison.Ordinal))
            .Select(e => e.Message.Split(' ')[1]).ToHashSet(StringComparer.Ordinal);
        return entries.Where(e => e.Message.Contains($"(user {user})", StringComparison.Ordinal) || clients.Any(c => e.Message.Contains($"Client {c} ", StringComparison.Ordinal) || e.Message.Contains($"Client {c}:", StringComparison.Ordinal)))
            .Select(e => $"{e.EventId.Id} {e.Message.Split(" Client=")[0]}{(e.Exception is { } x ? $" ({x.GetType().Name}: {x.Message})" : "")}");
    }

    private static double SecondWorst(List<double> windows) => windows.Order().ElementAt(windows.Count - 2);

    [Fact]
    public Task Subscribe_unsubscribe_churn_of_10000_operations_leaves_counters_grains_and_memory_at_baseline() => ChurnAsync(10_000);

    [Fact]
    [Trait("Category", "Long")]
    public Task Subscribe_unsubscribe_churn_of_100000_operations_leaves_counters_grains_and_memory_at_baseline() => ChurnAsync(100_000);

    private async Task ChurnAsync(int operations)
    {
        const int clients = 20;
        const int channels = 200;
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "1000000",
            ["Realtime:Limits:CommandBurst"] = "1000000",
        });

        // Warm up: every channel of the pool once, so what the engine keeps per channel is in the baseline.
        await EveryChannelOnceAsync("warm");
        var before = await server.MetricsAsync();
        var heapBefore = ManagedHeap.LiveBytes();

        var (during, elapsed) = await ChurnRoundAsync();
        var settled = await server.MetricsAsync();
        List<long> heaps = [heapBefore, await HeapOnceStreamCachesPurgedAsync()];
        Assert.True(heaps[1] - heapBefore < 16 * 1024 * 1024, $"the managed heap grew by {heaps[1] - heapBefore:N0} bytes (from {heapBefore:N0}) in one round");

        // Memory kept per operation grows by as much in every round. The stream caches' pooled 1 MiB blocks grow too,
        // to the most a round needs at once, and then stay: one of up to four rounds must leave the heap within the
        // allowance of the round before (2 MiB: 21 bytes an operation at 100,000, 210 at 10,000; a leak of more
        // grows it every round).
        var allowance = Math.Max(2 * 1024 * 1024, operations * 20L);
        while (heaps[^1] - heaps[^2] >= allowance && heaps.Count < 5)
        {
            await ChurnRoundAsync();
            heaps.Add(await HeapOnceStreamCachesPurgedAsync());
        }

        Assert.True(heaps[^1] - heaps[^2] < allowance,
            $"the managed heap grew in every round of {operations:N0} operations: {string.Join(" → ", heaps.Select(h => $"{h:N0}"))} bytes");
        Measured.Record(output, $"churn-{operations}", new Dictionary<string, object>
        {
            ["operations"] = operations,
            ["seconds"] = Measured.Round(elapsed.TotalSeconds),
            ["activations_before"] = before["realtime_grain_activations"],
            ["activations_during"] = during["realtime_grain_activations"],
            ["activations_after"] = settled["realtime_grain_activations"],
            ["subscriptions_after"] = settled["realtime_subscriptions"],
            ["heap_before_mb"] = Measured.Round(heapBefore / 1048576.0, 2),
            ["heap_after_mb"] = Measured.Round(heaps[1] / 1048576.0, 2),
            ["rounds"] = heaps.Count - 1,
            ["heap_last_mb"] = Measured.Round(heaps[^1] / 1048576.0, 2),
        });

        // The operations over 20 sockets, then the sockets close and everything is back at the baseline.
        async Task<(Dictionary<string, double> During, TimeSpan Elapsed)> ChurnRoundAsync()
        {
            var started = DateTime.UtcNow;
            var churners = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => LoadClient.ConnectAsync(server.WebSocketUri, $"churn{i}")));
            await Task.WhenAll(churners.Select(async (client, i) =>
            {
                var random = new Random(i);
                for (var op = 0; op < operations / clients / 2; op++)
                {
                    var channel = $"churn:{random.Next(channels)}";
                    Assert.True((await client.RequestAsync(new { type = "subscribe", channel })).TryGetProperty("result", out _));
                    Assert.True((await client.RequestAsync(new { type = "unsubscribe", channel })).TryGetProperty("result", out _));
                }

                // Half the clients leave one subscription behind: closing the socket must clean it up too.
                if (i % 2 == 0)
                {
                    await client.RequestAsync(new { type = "subscribe", channel = $"churn:{i}" });
                }
            }));
            var during = await server.MetricsAsync();
            var elapsed = DateTime.UtcNow - started;
            await LoadRun.DisposeAllAsync(churners);

            await Eventually.TrueAsync(async () =>
            {
                var after = await server.MetricsAsync();
                return after["realtime_connections"] == before["realtime_connections"]
                    && after["realtime_subscriptions"] == before["realtime_subscriptions"]
                    && after["realtime_grain_activations"] == before["realtime_grain_activations"];
            }, "connections, subscriptions and grain activations are back at baseline", TimeSpan.FromSeconds(20));
            return (during, elapsed);
        }

        // Each stream queue's cache keeps the events younger than StreamCacheTime (10 s, src/Silo) relative to the
        // newest one in the queue, so a queue gone quiet holds the round's last 10 s of joins and leaves until newer
        // events arrive. Bounded, not kept per operation: a few events once that window has passed let it purge.
        async Task<long> HeapOnceStreamCachesPurgedAsync()
        {
            await Task.Delay(TimeSpan.FromSeconds(12));
            await EveryChannelOnceAsync("late");
            return ManagedHeap.LiveBytes();
        }

        // One socket subscribes to every channel and leaves it; a memberless channel grain deactivates at once, so
        // afterwards no socket and no channel activation is left.
        async Task EveryChannelOnceAsync(string user)
        {
            await using (var client = await LoadClient.ConnectAsync(server.WebSocketUri, user))
            {
                for (var c = 0; c < channels; c++)
                {
                    await client.RequestAsync(new { type = "subscribe", channel = $"churn:{c}" });
                    await client.RequestAsync(new { type = "unsubscribe", channel = $"churn:{c}" });
                }
            }

            await Eventually.TrueAsync(async () => await server.MetricsAsync() is var m && m["realtime_connections"] == 0 && m["realtime_grain_activations"] == 0,
                $"the {user} socket and its channels are gone");
        }
    }

    // Publishes every 50 ms for about this long (each one must be acknowledged); returns the last offset.
    private static async Task<long> PublishForAsync(LoadClient publisher, TimeSpan duration)
    {
        var until = DateTime.UtcNow + duration;
        var last = 0L;
        for (var n = 0L; DateTime.UtcNow < until; n++)
        {
            last = (await publisher.PublishAsync(Room, n)).Offset ?? throw new InvalidOperationException($"publish {n} was not acknowledged");
            await Task.Delay(50);
        }

        return last;
    }

    // How the connection ended is there for a failure's message: a close frame, the server ending TCP, or the read timing out.
    // Sockets: both ends of the connection as the kernel saw them (ss) when it had gone 3 s without being told to go,
    // so a failure shows where the server's replies were: in the server's send queue, in the client's receive
    // queue unread, or nowhere (still in the server's pipes).
    private sealed record Flood(string User, int? CloseCode, long Sent, int RateLimited, int FramesRead, bool ConnectionClosed, TimeSpan After,
        string? Sockets);

    /// <summary>
    /// One flooding client at a time, reconnecting as soon as it is thrown out: 10,000 pings a second, a
    /// hundred times the rate limit, written in batches. The rate is bounded because the flooder shares the
    /// node's two cores: unbounded, it spends a core filling kernel buffers the node has stopped reading,
    /// and the test would measure the flooder's CPU rather than what the node pays for the flood.
    /// </summary>
    private sealed class Flooder(RealtimeServer server)
    {
        private const int BatchFrames = 100;

        private volatile bool _stopped;

        public volatile bool Active;

        public void Stop() => _stopped = true;

        public async Task<List<Flood>> RunAsync()
        {
            var floods = new List<Task<Flood>>();
            var ping = Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}""");
            var key = RawFrames.NewMaskKey();
            byte[] frame = [.. RawFrames.Header(RawFrame.Text, (ulong)ping.Length, fin: true, key), .. RawFrames.Mask(ping, key)];
            var batch = Enumerable.Repeat(frame, BatchFrames).SelectMany(f => f).ToArray();
            for (var i = 0; !_stopped; i++)
            {
                if (!Active)
                {
                    await Task.Delay(10);
                    continue;
                }

                var user = $"flooder{i}";
                // The default receive buffer: with 4 KB, ss once showed the server's last 4,847 bytes (the replies
                // and the close frame) waiting on zero-window probes for 5 s while the client had read all it had.
                var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token(user)}", smallReceiveBuffer: false);
                var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var ending = RawFrames.ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(15), onCloseFrame: told.SetResult);
                var sockets = SocketsIfStuckAsync(raw.LocalPort, told.Task, ending);
                long sent = 0;
                Task write = Task.CompletedTask;
                try
                {
                    // It stops when told (the close frame), as a WebSocket library would, and moves on to
                    // its next connection at once, leaving the server to end this one. The server stops
                    // reading once it has closed, so the write in flight is left behind, not awaited:
                    // waiting on it would idle the flooder until the server drops the connection.
                    while (!told.Task.IsCompleted && !ending.IsCompleted)
                    {
                        write = raw.Stream.WriteAsync(batch).AsTask();
                        if (await Task.WhenAny(write, told.Task, ending) != write)
                        {
                            break;
                        }

                        await write;
                        sent += BatchFrames;
                        await Task.Delay(10); // BatchFrames per 10 ms
                    }
                }
                catch (IOException)
                {
                }

                floods.Add(FinishAsync(user, raw, ending, write, sent, sockets));
            }

            return [.. await Task.WhenAll(floods)];
        }

        private static async Task<Flood> FinishAsync(string user, RawWebSocket raw, Task<RawEnding> ending, Task write, long sent, Task<string?> sockets)
        {
            await using (raw)
            {
                var end = await ending;
                await write.ContinueWith(_ => { }, TaskScheduler.Default); // the abandoned write fails once the server drops the connection
                return new Flood(user, end.CloseCode, sent, end.FramesBefore.Count(f => f.TextPayload.Contains("rate_limited", StringComparison.Ordinal)),
                    end.FramesBefore.Count, end.ConnectionClosed, end.After, await sockets);
            }
        }

        // A flood connection is told to go within milliseconds; one still waiting after 3 s is the case a failure
        // reports, with the kernel's view of both ends taken while it waits.
        private static async Task<string?> SocketsIfStuckAsync(int clientPort, Task told, Task ending)
        {
            if (await Task.WhenAny(told, ending, Task.Delay(TimeSpan.FromSeconds(3))) is var first && (first == told || first == ending))
            {
                return null;
            }

            try
            {
                using var ss = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(
                    "ss", $"-tnoi state all ( sport = :{clientPort} or dport = :{clientPort} )") { RedirectStandardOutput = true })!;
                var output = await ss.StandardOutput.ReadToEndAsync();
                await ss.WaitForExitAsync();
                return output.Trim();
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                return $"ss failed: {e.Message}";
            }
        }
    }
}
