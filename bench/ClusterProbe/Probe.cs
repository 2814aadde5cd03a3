using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Realtime.Bench.Shared;

namespace Realtime.Bench.ClusterProbe;

/// <summary>One measurement run on a fresh channel, so offsets start at 1 and no history is in the way.</summary>
internal static class Probe
{
    public static async Task<ProbeResult> RunAsync(ProbeOptions options, TextWriter log)
    {
        var channel = $"bench:probe-{Guid.NewGuid().ToString("N")[..8]}";
        using var run = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        log.WriteLine($"ClusterProbe: {options.Subscribers} subscribers on {options.NodeA}, {options.Publishers} publishers on {options.NodeB}, " +
            $"{options.Messages} messages, channel {channel}");

        // Distinct users: a user may hold only Realtime:Limits:MaxConnectionsPerUser sockets on one node.
        var subscribers = new List<Subscriber>();
        for (var i = 0; i < options.Subscribers; i += 20)
        {
            subscribers.AddRange(await Task.WhenAll(Enumerable.Range(i, Math.Min(20, options.Subscribers - i)).Select(n =>
                Subscriber.ConnectAsync(Url(options, options.NodeA, $"probe-sub-{n}"), channel, options.Messages, run.Token))));
        }

        subscribers.ForEach(s => s.Start());
        var publishers = await Task.WhenAll(Enumerable.Range(0, options.Publishers).Select(n =>
            Publisher.ConnectAsync(Url(options, options.NodeB, $"probe-pub-{n}"), channel, options.PayloadBytes, run.Token)));
        await Task.Delay(500); // let the join pushes of the subscribe phase drain

        var next = new StrongBox<int>(0);
        var ackTimes = new ConcurrentBag<long>();
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(publishers.Select(p => p.RunAsync(next, options.Messages, ackTimes, errors, run.Token)));
        var publishTime = clock.Elapsed;
        var acked = ackTimes.Count;

        // Every acknowledged message must reach every subscriber: wait for that, up to the timeout.
        var waiting = Stopwatch.StartNew();
        while (subscribers.Any(s => s.Received < acked && s.Failure is null) && waiting.Elapsed < options.Timeout)
        {
            await Task.Delay(10);
        }

        var deliverTime = clock.Elapsed;
        await Task.WhenAll(subscribers.Select(s => s.DisposeAsync().AsTask()));
        foreach (var failure in subscribers.Select(s => s.Failure).OfType<string>())
        {
            errors.AddOrUpdate($"subscriber {failure}", 1, (_, n) => n + 1);
        }

        return new ProbeResult(
            options,
            acked,
            publishTime,
            deliverTime,
            Expected: (long)acked * subscribers.Count,
            Delivered: subscribers.Sum(s => (long)s.Received),
            OrderViolations: subscribers.Sum(s => s.OrderViolations),
            AckLatencies: [.. ackTimes.Order()],
            DeliverLatencies: [.. subscribers.SelectMany(s => s.Latencies.ToArray()).Order()],
            errors);
    }

    private static Uri Url(ProbeOptions options, Uri node, string user) =>
        ProbeOptions.Socket(node, Token.Sign(options.Secret, user, TimeSpan.FromHours(2)));
}
