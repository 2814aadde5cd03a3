using System.Diagnostics;
using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Net;
using Realtime.Bench.LoadGen.Report;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// Fan-out with channels of one size: the subscribers are split into channels of that size, publishers
/// spread messages over the channels. A closed-loop probe estimates the capacity; then rates step up from
/// 60% of it, and the largest rate whose step has p99 within the limit and nothing lost is the capacity.
/// Finally latency at 25, 50 and 75% of the capacity.
/// </summary>
internal sealed class FanoutScenario(Fleet fleet, ProcessStats server, RunSettings settings, TextWriter log)
{
    private static readonly double[] Factors = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 2.0, 2.3, 2.6, 3.0, 3.5, 4.0];
    private static readonly double[] Fallbacks = [0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05];
    private static int s_step;

    // The probe can underestimate a system several times over (a closed loop keeps too little in flight for
    // the batching a saturated server relies on), so a system still passing at the last factor keeps
    // climbing in steps of 15% rather than being capped there.
    private static IEnumerable<double> Ladder()
    {
        foreach (var factor in Factors)
        {
            yield return factor;
        }

        for (var factor = Factors[^1] * 1.15; factor <= MaxFactor; factor *= 1.15)
        {
            yield return Math.Round(factor, 2);
        }
    }

    private const double MaxFactor = 12;

    public async Task<FanoutResult> RunAsync(int channelSize, CancellationToken ct)
    {
        var channels = Math.Max(1, settings.Subscribers / channelSize);
        var result = new FanoutResult { ChannelSize = channelSize, Subscribers = channels * channelSize, Channels = channels };
        var setup = await OpenAsync(channelSize, channels, ct).ConfigureAwait(false);
        try
        {
            // The probe keeps a bounded number of deliveries in flight, so it cannot overflow any queue.
            var probeStep = Interlocked.Increment(ref s_step);
            var probeStats = fleet.Client.NewStep(probeStep);
            var probe = await Task.Factory.StartNew(() =>
            {
                var started = Stopwatch.GetTimestamp();
                setup.Publishers.RunClosedLoop(probeStats, probeStep, Math.Max(16L * channelSize, 8000), settings.Probe);
                return probeStats.Received / Stopwatch.GetElapsedTime(started).TotalSeconds;
            }, TaskCreationOptions.LongRunning).ConfigureAwait(false);

            // The probe ends with up to its window still in flight (seconds of work for a slow system): let it
            // arrive, so the first step does not start behind the probe's backlog.
            var drained = Stopwatch.StartNew();
            while (probeStats.InFlight > 0 && drained.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }

            await SettleAsync(ct).ConfigureAwait(false);
            result.ProbeDeliveriesPerSecond = probe;
            log.WriteLine($"  fan-out {channelSize}: probe {probe:N0} deliveries/s");

            foreach (var factor in Ladder())
            {
                var step = await RunStepAsync(setup, $"{factor:P0} of probe", probe * factor / channelSize, channelSize, settings.Step, ct).ConfigureAwait(false);
                result.Steps.Add(step);
                if (!step.Passed && step.Lost == 0 && step.Dropped == 0 && step.Errors == 0)
                {
                    // Only p99 failed: one pause (a collection, a scheduling hiccup) can do that to a short
                    // step, so the rate gets a second try before the search stops.
                    await SettleAsync(ct).ConfigureAwait(false);
                    step = await RunStepAsync(setup, $"{factor:P0} of probe (again)", probe * factor / channelSize, channelSize, settings.Step, ct).ConfigureAwait(false);
                    result.Steps.Add(step);
                }

                if (!step.Passed)
                {
                    break;
                }

                result.Capacity = step;
            }

            if (result.Capacity is null)
            {
                foreach (var factor in Fallbacks)
                {
                    await SettleAsync(ct).ConfigureAwait(false);
                    setup = await ReopenIfDroppedAsync(setup, channelSize, channels, ct).ConfigureAwait(false);
                    var step = await RunStepAsync(setup, $"{factor:P0} of probe", probe * factor / channelSize, channelSize, settings.Step, ct).ConfigureAwait(false);
                    result.Steps.Add(step);
                    if (step.Passed)
                    {
                        result.Capacity = step;
                        break;
                    }
                }
            }

            if (result.Capacity is not { } capacity)
            {
                return result;
            }

            await SettleAsync(ct).ConfigureAwait(false);
            setup = await ReopenIfDroppedAsync(setup, channelSize, channels, ct).ConfigureAwait(false);

            foreach (var share in new[] { 0.25, 0.5, 0.75 })
            {
                result.Latency.Add(await RunStepAsync(setup, $"{share:P0} of capacity", capacity.PublishRate * share, channelSize, settings.LatencyRun, ct)
                    .ConfigureAwait(false));
            }

            return result;
        }
        finally
        {
            await Fleet.CloseAllAsync(setup.All, graceful: false).ConfigureAwait(false);
            await Task.Delay(1000, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Steps of 5 s at fixed delivery rates instead of the capacity search (they land in the
    /// result's latency list): the same work at the same rate, so two builds compare by CPU per delivery.</summary>
    public async Task<FanoutResult> RunFixedRatesAsync(int channelSize, IReadOnlyList<int> deliveriesPerSecond, CancellationToken ct)
    {
        var channels = Math.Max(1, settings.Subscribers / channelSize);
        var result = new FanoutResult { ChannelSize = channelSize, Subscribers = channels * channelSize, Channels = channels };
        var setup = await OpenAsync(channelSize, channels, ct).ConfigureAwait(false);
        try
        {
            foreach (var rate in deliveriesPerSecond)
            {
                result.Latency.Add(await RunStepAsync(setup, $"{rate:N0} del/s", (double)rate / channelSize, channelSize, TimeSpan.FromSeconds(5), ct)
                    .ConfigureAwait(false));
                await SettleAsync(ct).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            await Fleet.CloseAllAsync(setup.All, graceful: false).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An unmeasured run long enough for the server to reach its optimised code: .NET compiles a method
    /// quickly first and recompiles it optimised (with profile data) only after it has been called often
    /// and the process has stopped compiling new methods for a while, and on one core that background
    /// compilation competes with the load. A Node or .NET server starts each measurement warm.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken ct)
    {
        var rounds = settings.Quick ? 2 : 5;
        foreach (var channelSize in new[] { 100, 1 })
        {
            var setup = await OpenAsync(channelSize, Math.Max(1, settings.Subscribers / channelSize), ct).ConfigureAwait(false);
            try
            {
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var deliveries in new[] { 20_000, 50_000, 100_000 })
                    {
                        await RunStepAsync(setup, "warm-up", deliveries / channelSize, channelSize, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                await Fleet.CloseAllAsync(setup.All, graceful: true).ConfigureAwait(false);
            }
        }

        // The warm-up's top rates overload a slower system, which then works through a backlog: measure nothing (the
        // idle CPU least of all) until that is done.
        await SettleAsync(TimeSpan.FromMinutes(2), ct).ConfigureAwait(false);
    }

    private sealed record Setup(IReadOnlyList<WsConnection> Subscribers, Publishers Publishers, long DroppedBefore)
    {
        public IEnumerable<WsConnection> All => Subscribers.Concat(Publishers.Sockets);
    }

    private async Task<Setup> OpenAsync(int channelSize, int channels, CancellationToken ct)
    {
        var names = Enumerable.Range(0, channels).Select(fleet.Client.Protocol.Channel).ToArray();
        var subscribers = await fleet.OpenAsync(channels * channelSize, i => names[i % channels], 64, ct).ConfigureAwait(false);
        var publishers = await fleet.OpenAsync(settings.PublisherSockets, _ => null, settings.PublisherSockets, ct).ConfigureAwait(false);
        if (subscribers.Failures > 0 || publishers.Failures > 0)
        {
            throw new IOException($"{subscribers.Failures + publishers.Failures} sockets failed to open for fan-out {channelSize}");
        }

        return new Setup(subscribers.Connections, new Publishers(fleet.Client, publishers.Connections, names, channelSize, settings.PayloadBytes), fleet.Client.Dropped);
    }

    // Overload may have closed sockets (slow consumers, 4008): the next measurement gets a fresh set.
    private async Task<Setup> ReopenIfDroppedAsync(Setup setup, int channelSize, int channels, CancellationToken ct)
    {
        if (fleet.Client.Dropped == setup.DroppedBefore)
        {
            return setup;
        }

        log.WriteLine($"  fan-out {channelSize}: {fleet.Client.Dropped - setup.DroppedBefore:N0} sockets were closed by the server; opening a fresh set");
        await Fleet.CloseAllAsync(setup.All, graceful: false).ConfigureAwait(false);
        await Task.Delay(1000, ct).ConfigureAwait(false);
        return await OpenAsync(channelSize, channels, ct).ConfigureAwait(false);
    }

    private async Task<StepResult> RunStepAsync(Setup setup, string label, double rate, int channelSize, TimeSpan duration, CancellationToken ct)
    {
        var step = Interlocked.Increment(ref s_step);
        var stats = fleet.Client.NewStep(step);
        fleet.Client.CurrentPublishStep = stats;
        var dropped = fleet.Client.Dropped;
        var (cpu, own, machine, started) = (server.CpuSeconds(), ProcessStats.OwnCpuSeconds(), ProcessStats.MachineBusySeconds(), Stopwatch.GetTimestamp());

        var lag = await Task.Factory.StartNew(() => setup.Publishers.RunOpenLoop(stats, step, rate, duration), TaskCreationOptions.LongRunning)
            .ConfigureAwait(false);
        var drainUntil = Stopwatch.GetTimestamp() + (long)(settings.Drain.TotalSeconds * Stopwatch.Frequency);
        while (stats.Received < stats.Expected && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(10, ct).ConfigureAwait(false);
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var serverCpu = server.CpuSeconds() - cpu;
        var ownCpu = ProcessStats.OwnCpuSeconds() - own;
        var foreign = Math.Max(0, ProcessStats.MachineBusySeconds() - machine - serverCpu - ownCpu);
        var lost = stats.Expected - stats.Received;
        var p99 = stats.Latency.Percentile(0.99);
        var stepDropped = fleet.Client.Dropped - dropped;
        var passed = lost == 0 && stats.Errors == 0 && stepDropped == 0 && stats.Received > 0 && p99 <= settings.MaxP99Ms;
        var result = new StepResult(label, Math.Round(rate, 1), channelSize, Math.Round(seconds, 3), stats.Published, stats.Expected, stats.Received, lost,
            stats.Errors, stepDropped, stats.Received / seconds, stats.Latency.Percentile(0.5), p99, stats.Latency.Percentile(0.999), stats.Latency.MaxMs,
            serverCpu, stats.Received > 0 ? serverCpu / (stats.Received / 1e6) : double.NaN, ownCpu / seconds, foreign / seconds, lag.TotalMilliseconds, passed);
        log.WriteLine($"    {label,-16} {rate,10:N0} pub/s  {result.DeliveriesPerSecond,10:N0} del/s  p50 {result.P50Ms,7:N2}  p99 {p99,8:N2}  " +
                      $"p99.9 {result.P999Ms,8:N2} ms  lost {lost}  err {stats.Errors}  drop {stepDropped}  srv {serverCpu / seconds:P0} ({result.CpuSecondsPerMillion:N1} s/M)  gen {result.ClientCpuShare:P0}" +
                      $"  other {result.ForeignCpuShare:P0}  {(passed ? "pass" : "FAIL")}");
        fleet.Client.CurrentPublishStep = null;
        return result;
    }

    // After an overloaded step, let the server finish its backlog before the next measurement.
    private Task SettleAsync(CancellationToken ct) => SettleAsync(TimeSpan.FromSeconds(15), ct);

    // Waits (at most `limit`) for the server to go quiet: under 20% of a core for half a second.
    private async Task SettleAsync(TimeSpan limit, CancellationToken ct)
    {
        for (var i = 0; i < limit.TotalMilliseconds / 500; i++)
        {
            var cpu = server.CpuSeconds();
            await Task.Delay(500, ct).ConfigureAwait(false);
            if (server.CpuSeconds() - cpu < 0.1)
            {
                return;
            }
        }
    }
}
