using System.Globalization;

namespace Realtime.Bench.SoakDriver;

/// <summary>One row of the CSV: the node's memory and the delivery latency of one sampling window.</summary>
internal sealed record Sample(double Seconds, int ClientsOpen, double ServerConnections, double RssBytes, double HeapBytes,
    double LiveBytes, long Deliveries, double P50Ms, double P99Ms, double MaxMs)
{
    public const string Header = "elapsed_s,clients_open,server_connections,rss_mb,heap_mb,live_mb,deliveries,p50_ms,p99_ms,max_ms";

    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{Seconds:F0},{ClientsOpen},{ServerConnections:F0},{RssBytes / 1048576:F1},{HeapBytes / 1048576:F1},{LiveBytes / 1048576:F1},{Deliveries},{P50Ms:F1},{P99Ms:F1},{MaxMs:F1}");
}
