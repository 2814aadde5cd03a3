using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Report;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// Idle connections: each socket connects, authenticates where the system has auth, subscribes to a channel
/// of 100 and then stays quiet. Memory per connection is the server's growth (VmRSS, and the managed heap
/// where the server reports it) divided by the sockets, measured after the sockets have settled.
/// </summary>
internal sealed class IdleScenario(Fleet fleet, ProcessStats server, RunSettings settings, TextWriter log)
{
    public async Task<IdleResult> RunAsync(int connections, CancellationToken ct)
    {
        var (rssBefore, heapBefore) = await SampleAsync().ConfigureAwait(false);
        var droppedBefore = fleet.Client.Dropped;
        var opened = await fleet.OpenAsync(connections, i => fleet.Client.Protocol.Channel(1_000_000 + i / 100), 128, ct).ConfigureAwait(false);
        log.WriteLine($"  idle {connections:N0}: {opened.Connections.Count:N0} open in {opened.Seconds:N1} s ({opened.Connections.Count / opened.Seconds:N0}/s), {opened.Failures} failed");
        try
        {
            await Task.Delay(settings.IdleSettle, ct).ConfigureAwait(false);
            var (rssAfter, heapAfter) = await SampleAsync().ConfigureAwait(false);

            // CPU with every socket open and nothing sent: what keep-alives, timers and (Realtime) stream polling cost.
            await Task.Delay(settings.IdleCpuSettle - settings.IdleSettle, ct).ConfigureAwait(false);
            var cpuBefore = server.CpuSeconds();
            var quiet = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(settings.IdleCpuWindow, ct).ConfigureAwait(false);
            var idleCpu = (server.CpuSeconds() - cpuBefore) / quiet.Elapsed.TotalSeconds * 100;
            var dropped = fleet.Client.Dropped - droppedBefore;
            var count = Math.Max(1, opened.Connections.Count);
            var result = new IdleResult(connections, opened.Connections.Count, opened.Failures, dropped, opened.Connections.Count / opened.Seconds,
                rssBefore, rssAfter, (rssAfter - rssBefore) / (double)count,
                heapBefore is { } hb && heapAfter is { } ha ? (ha - hb) / 1024.0 / count : null, idleCpu);
            log.WriteLine($"  idle {connections:N0}: RSS {rssBefore / 1024.0:N1} → {rssAfter / 1024.0:N1} MiB = {result.RssPerConnectionKb:N2} KiB/connection" +
                          (result.HeapPerConnectionKb is { } h ? $", heap {h:N2} KiB/connection" : "") + $", {dropped} dropped, idle CPU {idleCpu:N2}% of a core");
            return result;
        }
        finally
        {
            await Fleet.CloseAllAsync(opened.Connections, graceful: false).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(settings.Quick ? 2 : 5), CancellationToken.None).ConfigureAwait(false);
        }
    }

    // Three samples, half a second apart; the last heap reading and the mean RSS.
    private async Task<(long RssKb, long? Heap)> SampleAsync()
    {
        long rss = 0;
        long? heap = null;
        for (var i = 0; i < 3; i++)
        {
            rss += server.RssKb();
            heap = await server.HeapBytesAsync().ConfigureAwait(false);
            await Task.Delay(500).ConfigureAwait(false);
        }

        return (rss / 3, heap);
    }
}
