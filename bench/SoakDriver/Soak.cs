using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Realtime.Bench.Shared;

namespace Realtime.Bench.SoakDriver;

/// <summary>
/// The run: connect and subscribe every socket, publish at a steady rate, sample the node every few
/// seconds into a CSV, and judge at the end whether memory stayed flat.
/// </summary>
internal static class Soak
{
    private const int PerPublisher = 40; // messages a second per publishing socket, under the default rate limit of 100

    public static async Task<bool> RunAsync(SoakOptions o, TextWriter log)
    {
        using var http = new HttpClient { BaseAddress = o.Url, Timeout = TimeSpan.FromSeconds(10) };
        var latencies = new LatencyHistogram();
        var lifetime = TimeSpan.FromMinutes(o.Minutes + 30);

        var connecting = Stopwatch.StartNew();
        var clients = new SoakClient[o.Connections];
        await Parallel.ForAsync(0, o.Connections, new ParallelOptions { MaxDegreeOfParallelism = 100 }, async (i, ct) =>
        {
            var client = new SoakClient(latencies);
            await client.ConnectAsync(o.WebSocketUri, Token.Sign(o.Secret, $"soak{i}", lifetime), $"soak:c{i % o.Channels}", ct);
            clients[i] = client;
        });
        log.WriteLine($"soak: {o.Connections} sockets connected and subscribed in {connecting.Elapsed.TotalSeconds:F1} s");

        var publishers = new SoakClient[Math.Max(1, (o.Rate + PerPublisher - 1) / PerPublisher)];
        for (var p = 0; p < publishers.Length; p++)
        {
            publishers[p] = new SoakClient(new LatencyHistogram());
            await publishers[p].ConnectAsync(o.WebSocketUri, Token.Sign(o.Secret, $"soak-publisher{p}", lifetime), "soak:publishers", CancellationToken.None);
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(o.Minutes));
        var publishing = PublishAsync(publishers, o, stop.Token);
        latencies.TakeWindow();
        var samples = new List<Sample>();
        double? liveSettled = null;
        await using (var csv = new StreamWriter(o.Csv))
        {
            await csv.WriteLineAsync(Sample.Header);
            var clock = Stopwatch.StartNew();
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(o.SampleSeconds));
            while (await NextAsync(timer, stop.Token))
            {
                var metrics = await MetricsAsync(http);
                var (count, p50, p99, max) = latencies.TakeWindow();
                var sample = new Sample(clock.Elapsed.TotalSeconds, o.Connections - clients.Count(c => c.Dropped), metrics.GetValueOrDefault("realtime_connections"),
                    metrics.GetValueOrDefault("dotnet_process_memory_working_set_bytes"), metrics.GetValueOrDefault("realtime_gc_heap_size_bytes"),
                    metrics.GetValueOrDefault("realtime_gc_live_set_bytes"), count, p50, p99, max);
                samples.Add(sample);
                await csv.WriteLineAsync(sample.ToCsv());
                await csv.FlushAsync();
                log.WriteLine($"soak: {sample.ToCsv()}");
                if (liveSettled is null && sample.Seconds >= o.SettledSeconds)
                {
                    liveSettled = await LiveBytesAsync(http, o, log);
                }
            }
        }

        await publishing;
        var liveEnd = await LiveBytesAsync(http, o, log);
        var verdict = Verdict.Judge(samples, o, liveSettled, liveEnd);
        log.WriteLine(JsonSerializer.Serialize(verdict.Figures));
        await Task.WhenAll(clients.Concat(publishers).Select(c => c.CloseAsync()));
        return verdict.Passed;
    }

    private static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task PublishAsync(SoakClient[] publishers, SoakOptions o, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (!stop.IsCancellationRequested)
        {
            for (var due = (long)(clock.Elapsed.TotalSeconds * o.Rate); n < due; n++)
            {
                var json = $$$"""{"id":{{{n + 2}}},"type":"publish","channel":"soak:c{{{n % o.Channels}}}","data":{"n":{{{n}}},"t":{{{Stopwatch.GetTimestamp()}}}}}""";
                await publishers[n % publishers.Length].SendAsync(json, CancellationToken.None);
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }

    // The node's live set: what survives a full collection it is asked to run now. Null without --pid.
    private static async Task<double?> LiveBytesAsync(HttpClient http, SoakOptions o, TextWriter log)
    {
        if (o.NodePid is not { } pid)
        {
            return null;
        }

        var before = (await MetricsAsync(http)).GetValueOrDefault(Gen2Collections);
        var collected = await FullCollection.RunAsync(pid,
            async () => (await MetricsAsync(http)).GetValueOrDefault(Gen2Collections) > before, TimeSpan.FromSeconds(30));
        if (!collected)
        {
            throw new InvalidOperationException("the node did not run the full collection it was asked for");
        }

        var live = (await MetricsAsync(http)).GetValueOrDefault("realtime_gc_live_set_bytes");
        log.WriteLine($"soak: live set after a full collection {live / 1048576:F1} MB");
        return live;
    }

    private const string Gen2Collections = "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}";

    // Samples keyed by name, plus their labels without OpenTelemetry's otel_scope_* (which name the meter, not the series).
    private static async Task<Dictionary<string, double>> MetricsAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("/metrics");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'))
        {
            var space = line.LastIndexOf(' ');
            var series = line[..space];
            if (series.IndexOf('{', StringComparison.Ordinal) is var brace and >= 0)
            {
                var labels = series[(brace + 1)..^1].Split(',').Where(l => l.Length > 0 && !l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToArray();
                series = labels.Length == 0 ? series[..brace] : $"{series[..brace]}{{{string.Join(",", labels)}}}";
            }

            samples[series] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return samples;
    }
}
