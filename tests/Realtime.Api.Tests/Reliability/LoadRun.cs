using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Reliability;

/// <summary>One publish of a load run: where it went, its number (in <c>data.n</c>) and what came of it.</summary>
/// <summary>A publish and its reply: <paramref name="ReplyMs"/> from sending it to the reply, which came at
/// <paramref name="RepliedAt"/> (<see cref="Stopwatch"/> ticks).</summary>
public sealed record SentPublish(string Channel, long N, PublishOutcome Outcome, double ReplyMs = 0, long RepliedAt = 0);

/// <summary>Steady publishing and the checks that follow it, shared by the fault tests.</summary>
public static class LoadRun
{
    /// <summary>Cluster settings for load: the rate limit and join/leave out of the way, history long enough to recover any gap.</summary>
    public static Dictionary<string, string> ClusterSettings => new()
    {
        ["Realtime__Limits__CommandsPerSecond"] = "100000",
        ["Realtime__Limits__CommandBurst"] = "100000",
        ["Realtime__Namespaces__load__HistorySize"] = "100000",
        ["Realtime__Namespaces__load__JoinLeave"] = "false",
    };

    public static string Channel(int i) => $"load:c{i}";

    /// <summary>Publishes <paramref name="perSecond"/> messages a second, round-robin over channels and publishers, without waiting for acks.</summary>
    public static async Task<List<SentPublish>> PublishAsync(IReadOnlyList<LoadClient> publishers, int channels, int perSecond, TimeSpan duration)
    {
        var sent = new List<(string Channel, long N, Task<(PublishOutcome, double, long)> Outcome)>();
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < duration)
        {
            for (var due = (long)(clock.Elapsed.TotalSeconds * perSecond); n < due; n++)
            {
                var channel = Channel((int)(n % channels));
                sent.Add((channel, n, TimedAsync(publishers[(int)(n % publishers.Count)], channel, n)));
            }

            await Task.Delay(5);
        }

        var outcomes = await Task.WhenAll(sent.Select(s => s.Outcome));
        return sent.Select((s, i) => new SentPublish(s.Channel, s.N, outcomes[i].Item1, outcomes[i].Item2, outcomes[i].Item3)).ToList();

        static async Task<(PublishOutcome, double, long)> TimedAsync(LoadClient publisher, string channel, long n)
        {
            var start = Stopwatch.GetTimestamp();
            var outcome = await publisher.PublishAsync(channel, n);
            var replied = Stopwatch.GetTimestamp();
            return (outcome, Stopwatch.GetElapsedTime(start, replied).TotalMilliseconds, replied);
        }
    }

    /// <summary>Every message a channel holds, read through REST a page at a time: offset → data.n.</summary>
    public static async Task<Dictionary<long, long>> HistoryAsync(HttpClient http, string channel)
    {
        var messages = new Dictionary<long, long>();
        long after = 0;
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/channels/{channel}/history?limit=1000&since={after}");
            var items = page.GetProperty("messages").EnumerateArray().ToList();
            foreach (var m in items)
            {
                messages[m.GetProperty("offset").GetInt64()] = m.GetProperty("data").GetProperty("n").GetInt64();
            }

            if (items.Count == 0 || (after = items[^1].GetProperty("offset").GetInt64()) >= page.GetProperty("offset").GetInt64())
            {
                return messages;
            }
        }
    }

    /// <summary>Waits until every subscriber has seen its channel up to <paramref name="lastOffsets"/>.</summary>
    public static Task CaughtUpAsync(IEnumerable<LoadClient> subscribers, IReadOnlyDictionary<string, long> lastOffsets, TimeSpan timeout) =>
        Eventually.TrueAsync(() => subscribers.All(s => s.LastOffset >= lastOffsets.GetValueOrDefault(s.Channel!)),
            "every subscriber has seen its channel's last message", timeout);

    /// <summary>Connects <paramref name="count"/> clients, <paramref name="parallel"/> at a time, client i on node(i) subscribed to channel(i).</summary>
    public static async Task<List<LoadClient>> SubscribersAsync(Func<int, Uri> node, int count, Func<int, string> channel, string userPrefix, int parallel = 100)
    {
        var clients = new LoadClient[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
        {
            var client = await LoadClient.ConnectAsync(node(i), $"{userPrefix}{i}");
            await client.SubscribeAsync(channel(i));
            clients[i] = client;
        });
        return [.. clients];
    }

    public static async Task DisposeAllAsync(IEnumerable<LoadClient> clients) =>
        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
}
