namespace Realtime.Bench.SoakDriver;

/// <summary>
/// "Memory ends flat", judged from the moment the node should have settled (every channel's history
/// full, a minute in at least) to the end, and no socket dropped:
/// - the live set, what survives a full collection, grew by at most 2% (given --pid);
/// - the average RSS of the last minute is within 10% of the minute after settling.
/// The heap between full collections is reported but not judged: it also holds garbage already in
/// generation 2, which grows until the collector next looks there.
/// </summary>
internal sealed record Verdict(bool Passed, Dictionary<string, object> Figures)
{
    private const double RssTolerance = 0.10;
    private const double LiveTolerance = 0.02;

    public static Verdict Judge(IReadOnlyList<Sample> samples, SoakOptions o, double? liveSettled, double? liveEnd)
    {
        var total = samples.Count == 0 ? 0 : samples[^1].Seconds;
        var settled = samples.Where(s => s.Seconds >= o.SettledSeconds && s.Seconds < o.SettledSeconds + 60).ToList();
        var last = samples.Where(s => s.Seconds > total - 60).ToList();
        if (settled.Count == 0 || settled[0].Seconds > total - 120)
        {
            settled = samples.Take(Math.Max(1, samples.Count / 2)).ToList(); // too short to settle: first half against the last minute
        }

        double Avg(IEnumerable<Sample> window, Func<Sample, double> value) => window.Select(value).DefaultIfEmpty(double.NaN).Average();
        var (rssSettled, rssLast) = (Avg(settled, s => s.RssBytes), Avg(last, s => s.RssBytes));
        var (heapSettled, heapLast) = (Avg(settled, s => s.HeapBytes), Avg(last, s => s.HeapBytes));
        var dropped = samples.Count == 0 ? o.Connections : o.Connections - samples[^1].ClientsOpen;
        var rssFlat = rssLast <= rssSettled * (1 + RssTolerance);
        var liveFlat = liveSettled is not { } from || liveEnd is not { } to || to <= from * (1 + LiveTolerance);
        var windows = samples.Where(s => s.Deliveries > 0).ToList();
        static object Mb(double? bytes) => bytes is { } b ? Math.Round(b / 1048576, 1) : "not measured";
        static object Pct(double? from, double? to) => from is { } f && to is { } t ? Math.Round((t / f - 1) * 100, 1) : "not measured";
        var figures = new Dictionary<string, object>
        {
            ["case"] = "soak",
            ["minutes"] = o.Minutes,
            ["connections"] = o.Connections,
            ["rate"] = o.Rate,
            ["channels"] = o.Channels,
            ["dropped"] = dropped,
            ["deliveries"] = samples.Sum(s => s.Deliveries),
            ["settled_s"] = settled.Count == 0 ? double.NaN : Math.Round(settled[0].Seconds),
            ["live_settled_mb"] = Mb(liveSettled),
            ["live_end_mb"] = Mb(liveEnd),
            ["live_change_pct"] = Pct(liveSettled, liveEnd),
            ["rss_settled_minute_mb"] = Mb(rssSettled),
            ["rss_last_minute_mb"] = Mb(rssLast),
            ["rss_change_pct"] = Pct(rssSettled, rssLast),
            ["heap_settled_minute_mb"] = Mb(heapSettled),
            ["heap_last_minute_mb"] = Mb(heapLast),
            ["heap_change_pct"] = Pct(heapSettled, heapLast),
            ["p50_ms_median_window"] = windows.Count == 0 ? double.NaN : Math.Round(windows.Select(s => s.P50Ms).Order().ElementAt(windows.Count / 2), 1),
            ["p99_ms_worst_window"] = windows.Count == 0 ? double.NaN : Math.Round(windows.Max(s => s.P99Ms), 1),
            ["memory_flat"] = rssFlat && liveFlat,
        };
        return new Verdict(rssFlat && liveFlat && dropped == 0, figures);
    }
}
