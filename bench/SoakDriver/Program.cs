using System.Globalization;
using System.Net.WebSockets;
using Realtime.Bench.SoakDriver;

// Holds N sockets on one node with steady traffic for M minutes, samples the node's memory and the
// delivery latency every few seconds into a CSV, and exits 0 when memory ended flat and no socket dropped.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine($"SoakDriver: {e.Message}\n{SoakOptions.Usage}");
    return 2;
}

try
{
    return await Soak.RunAsync(options, Console.Out) ? 0 : 1;
}
catch (Exception e) when (e is WebSocketException or HttpRequestException or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"SoakDriver: {e.Message}");
    return 1;
}
