using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Channels;

public sealed class RecoveryTests
{
    [Fact]
    public async Task Resubscribing_with_since_returns_exactly_the_messages_published_while_away_in_order()
    {
        await using var server = await RealtimeServer.StartAsync();
        var first = await server.ConnectAsync("alice");
        var subscribed = await first.CallAsync(new { type = "subscribe", channel = "chat:recover" });
        var epoch = subscribed.GetProperty("epoch").GetString();
        var offset = subscribed.GetProperty("offset").GetInt64();
        await first.DisposeAsync();

        for (var i = 0; i < 100; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/chat:recover/messages", new { data = new { n = i } });
        }

        await using var again = await server.ConnectAsync("alice");
        var recovered = await again.CallAsync(new { type = "subscribe", channel = "chat:recover", since = new { epoch, offset } });

        Assert.True(recovered.GetProperty("recovered").GetBoolean());
        var messages = recovered.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => offset + i), messages.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal(Enumerable.Range(0, 100), messages.Select(m => m.GetProperty("data").GetProperty("n").GetInt32()));
        Assert.Equal(offset + 100, recovered.GetProperty("offset").GetInt64());

        // Live delivery continues right after the recovered ones, with nothing repeated.
        await server.PostAsync<JsonElement>("/api/channels/chat:recover/messages", new { data = new { n = 100 } });
        var live = await again.NextPushAsync("message");
        Assert.Equal(offset + 101, live.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Recovery_says_recovered_false_when_history_was_trimmed_past_the_offset()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Namespaces:short:HistorySize"] = "10",
        });
        await using var client = await server.ConnectAsync("alice");
        var subscribed = await client.CallAsync(new { type = "subscribe", channel = "short:room" });
        var epoch = subscribed.GetProperty("epoch").GetString();
        await client.CallAsync(new { type = "unsubscribe", channel = "short:room" });

        for (var i = 0; i < 25; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/short:room/messages", new { data = i });
        }

        var recovered = await client.CallAsync(new { type = "subscribe", channel = "short:room", since = new { epoch, offset = 0 } });
        Assert.False(recovered.GetProperty("recovered").GetBoolean());
        Assert.Equal(25, recovered.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Recovery_from_a_foreign_epoch_says_recovered_false()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");
        await server.PostAsync<JsonElement>("/api/channels/chat:epoch/messages", new { data = 1 });

        var recovered = await client.CallAsync(new { type = "subscribe", channel = "chat:epoch", since = new { epoch = "not-this-one", offset = 0 } });
        Assert.False(recovered.GetProperty("recovered").GetBoolean());
        Assert.Empty(recovered.GetProperty("messages").EnumerateArray());
        Assert.NotEqual("not-this-one", recovered.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task A_publish_acknowledged_to_its_sender_is_in_history()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");
        var acks = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            acks.Add((await client.CallAsync(new { type = "publish", channel = "acked", data = i })).GetProperty("offset").GetInt64());
        }

        var history = await client.CallAsync(new { type = "history", channel = "acked", limit = 100 });
        Assert.Equal(acks, history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()));
    }

    [Fact]
    public async Task Messages_published_during_a_subscribe_arrive_after_its_reply_once_each_in_order()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "100000",
            ["Realtime:Limits:CommandBurst"] = "100000",
        });
        await using var publisher = await server.ConnectAsync("pub");
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                await publisher.CallAsync(new { type = "publish", channel = "race", data = i });
            }
        });

        await using var reader = await server.ConnectAsync("reader");
        await Task.Delay(20);
        var sub = await reader.CallAsync(new { type = "subscribe", channel = "race", since = new { epoch = "x", offset = 0 } });
        await publishing;
        var epoch = sub.GetProperty("epoch").GetString();
        var from = sub.GetProperty("offset").GetInt64();

        // Resubscribe from the subscribe reply's offset to prove the live pushes continue exactly from it.
        var live = new List<long>();
        while (live.Count < 300 - from)
        {
            live.Add((await reader.NextPushAsync("message")).GetProperty("offset").GetInt64());
        }

        Assert.Equal(Enumerable.Range((int)from + 1, 300 - (int)from).Select(i => (long)i), live);
        var replyIndex = reader.Frames.ToList().FindIndex(f => f.TryGetProperty("result", out var r) && r.TryGetProperty("recovered", out _));
        var firstMessage = reader.Frames.ToList().FindIndex(f => f.TryGetProperty("type", out var t) && t.GetString() == "message");
        Assert.True(firstMessage < 0 || replyIndex < firstMessage, "the subscribe reply comes before any live message");
        Assert.NotNull(epoch);
    }
}
