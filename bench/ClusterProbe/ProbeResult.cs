using System.Diagnostics;

namespace Realtime.Bench.ClusterProbe;

/// <summary>What one run measured. Latencies are Stopwatch ticks, sorted.</summary>
internal sealed record ProbeResult(
    ProbeOptions Options,
    int Acknowledged,
    TimeSpan PublishTime,
    TimeSpan DeliverTime,
    long Expected,
    long Delivered,
    int OrderViolations,
    long[] AckLatencies,
    long[] DeliverLatencies,
    IReadOnlyDictionary<string, int> Errors)
{
    public bool Passed => Acknowledged == Options.Messages && Delivered == Expected && OrderViolations == 0 && Errors.Count == 0;

    public double Throughput => Acknowledged / PublishTime.TotalSeconds;

    public double DeliveryPercent => Expected == 0 ? 0 : 100.0 * Delivered / Expected;

    public void Print(TextWriter output)
    {
        var d = DeliverLatencies;
        output.WriteLine($"publish   {Acknowledged} of {Options.Messages} acknowledged in {PublishTime.TotalSeconds:F2} s = {Throughput:F0} msg/s; " +
            $"ack latency p50 {Ms(AckLatencies, 0.50)} p99 {Ms(AckLatencies, 0.99)} max {Ms(AckLatencies, 1)} ms");
        output.WriteLine($"deliver   {Delivered} of {Expected} ({DeliveryPercent:F2} %) in {DeliverTime.TotalSeconds:F2} s = " +
            $"{Delivered / DeliverTime.TotalSeconds:F0} deliveries/s; latency p50 {Ms(d, 0.50)} p90 {Ms(d, 0.90)} p99 {Ms(d, 0.99)} max {Ms(d, 1)} ms");
        output.WriteLine($"order     {(OrderViolations == 0 ? "every subscriber saw consecutive offsets" : $"{OrderViolations} gaps or repeats")}");
        output.WriteLine($"errors    {(Errors.Count == 0 ? "none" : string.Join(", ", Errors.Select(e => $"{e.Key} x{e.Value}")))}");
        output.WriteLine($"row       | {Options.Subscribers} | {Options.Messages} | {Options.Publishers} | {Throughput:F0} | {Ms(d, 0.50)} | " +
            $"{Ms(d, 0.90)} | {Ms(d, 0.99)} | {Ms(d, 1)} | {DeliveryPercent:F2} % | {Errors.Values.Sum()} |");
    }

    private static string Ms(long[] sorted, double quantile) => sorted.Length == 0
        ? "-"
        : (sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))] * 1000.0 / Stopwatch.Frequency).ToString("F1");
}
