using System.Globalization;
using System.Net.WebSockets;
using Realtime.Bench.ClusterProbe;

// Subscribes S sockets on node A, publishes M messages through node B with C publishers, and reports
// append throughput, publish-to-deliver latency on node A, delivery ratio and errors (docs/scaling.md).
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
ProbeOptions options;
try
{
    options = ProbeOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine($"ClusterProbe: {e.Message}\n{ProbeOptions.Usage}");
    return 2;
}

try
{
    var result = await Probe.RunAsync(options, Console.Out);
    result.Print(Console.Out);
    return result.Passed ? 0 : 1;
}
catch (Exception e) when (e is WebSocketException or HttpRequestException or InvalidOperationException)
{
    Console.Error.WriteLine($"ClusterProbe: {e.Message}");
    return 1;
}
