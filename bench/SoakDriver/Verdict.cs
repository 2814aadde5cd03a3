namespace Realtime.Bench.SoakDriver;

/// <summary>
/// "Memory ends flat": the node's average RSS over the last minute is within 10% of its average over
/// the second minute (the first is warm-up), and no socket was dropped. Managed heap is reported the same way.
/// </summary>
internal sealed record Verdict(bool Passed, Dictionary<string, object> Figures)
{
    private const double Tolerance = 0.10;

    public static Verdict Judge(IReadOnlyList<Sample> samples, SoakOptions o)
    {
        var total = samples.Count == 0 ? 0 : samples[^1].Seconds;
        var second = samples.Where(s => s.Seconds is > 60 and <= 120).ToList();
        var last = samples.Where(s => s.Seconds > total - 60).ToList();
        if (second.Count == 0)
        {
            second = samples.Take(Math.Max(1, samples.Count / 2)).ToList(); // a run under two minutes: first half against the last minute
        }

        double Avg(IEnumerable<Sample> window, Func<Sample, double> value) => window.Select(value).DefaultIfEmpty(double.NaN).Average();
        var (rss2, rssLast) = (Avg(second, s => s.RssBytes), Avg(last, s => s.RssBytes));
        var (heap2, heapLast) = (Avg(second, s => s.HeapBytes), Avg(last, s => s.HeapBytes));
        var dropped = samples.Count == 0 ? o.Connections : o.Connections - samples[^1].ClientsOpen;
        var flat = rssLast <= rss2 * (1 + Tolerance);
        var windows = samples.Where(s => s.Deliveries > 0).ToList();
        var figures = new Dictionary<string, object>
        {
            ["case"] = "soak",
            ["minutes"] = o.Minutes,
            ["connections"] = o.Connections,
            ["rate"] = o.Rate,
            ["channels"] = o.Channels,
            ["dropped"] = dropped,
            ["deliveries"] = samples.Sum(s => s.Deliveries),
            ["rss_second_minute_mb"] = Math.Round(rss2 / 1048576, 1),
            ["rss_last_minute_mb"] = Math.Round(rssLast / 1048576, 1),
            ["rss_change_pct"] = Math.Round((rssLast / rss2 - 1) * 100, 1),
            ["heap_second_minute_mb"] = Math.Round(heap2 / 1048576, 1),
            ["heap_last_minute_mb"] = Math.Round(heapLast / 1048576, 1),
            ["heap_change_pct"] = Math.Round((heapLast / heap2 - 1) * 100, 1),
            ["p50_ms_median_window"] = windows.Count == 0 ? double.NaN : Math.Round(windows.Select(s => s.P50Ms).Order().ElementAt(windows.Count / 2), 1),
            ["p99_ms_worst_window"] = windows.Count == 0 ? double.NaN : Math.Round(windows.Max(s => s.P99Ms), 1),
            ["memory_flat"] = flat,
        };
        return new Verdict(flat && dropped == 0, figures);
    }
}
