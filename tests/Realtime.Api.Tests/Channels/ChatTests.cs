using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Memory;

namespace Realtime.Api.Tests.Channels;

public sealed class ChatTests
{
    [Fact]
    public async Task Two_users_chatting_see_each_others_messages_in_offset_order()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
        await bob.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        for (var i = 0; i < 20; i++)
        {
            var (sender, name) = i % 2 == 0 ? (alice, "alice") : (bob, "bob");
            var ack = await sender.CallAsync(new { type = "publish", channel = "chat:lobby", data = new { text = $"{name} {i}" } });
            Assert.Equal(i + 1, ack.GetProperty("offset").GetInt64());
        }

        foreach (var client in new[] { alice, bob })
        {
            var messages = await client.MessagesAsync(20);
            Assert.Equal(Enumerable.Range(1, 20), messages.Select(m => (int)m.GetProperty("offset").GetInt64()));
            Assert.Equal("alice 0", messages[0].GetProperty("data").GetProperty("text").GetString());
            Assert.Equal("alice", messages[0].GetProperty("from").GetString());
            Assert.Equal("bob", messages[1].GetProperty("from").GetString());
            Assert.All(messages, m => Assert.Equal("chat:lobby", m.GetProperty("channel").GetString()));
            Assert.All(messages, m => Assert.EndsWith("Z", m.GetProperty("ts").GetString()));
        }
    }

    [Fact]
    public async Task Presence_lists_both_users_and_join_and_leave_reach_the_others()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        var bob = await server.ConnectAsync("bob");
        var aliceClient = (await alice.CallAsync(new { type = "connect" })).GetProperty("client").GetString();
        var bobClient = (await bob.CallAsync(new { type = "connect" })).GetProperty("client").GetString();
        await alice.CallAsync(new { type = "subscribe", channel = "chat:room" });
        await bob.CallAsync(new { type = "subscribe", channel = "chat:room" });

        var join = await alice.NextPushAsync("join");
        Assert.Equal("chat:room", join.GetProperty("channel").GetString());
        Assert.Equal("bob", join.GetProperty("user").GetString());
        Assert.Equal(bobClient, join.GetProperty("client").GetString());
        Assert.True(await bob.NoPushAsync("join", TimeSpan.FromMilliseconds(200)), "a client is not told of its own join");

        var presence = await alice.CallAsync(new { type = "presence", channel = "chat:room" });
        Assert.Equal(2, presence.GetProperty("users").GetInt32());
        var clients = presence.GetProperty("clients").EnumerateArray().Select(c => (c.GetProperty("client").GetString(), c.GetProperty("user").GetString())).ToHashSet();
        Assert.Equal(new HashSet<(string?, string?)> { (aliceClient, "alice"), (bobClient, "bob") }, clients);

        await bob.DisposeAsync();
        var leave = await alice.NextPushAsync("leave");
        Assert.Equal("bob", leave.GetProperty("user").GetString());
        Assert.Equal(bobClient, leave.GetProperty("client").GetString());
        presence = await alice.CallAsync(new { type = "presence", channel = "chat:room" });
        Assert.Equal(1, presence.GetProperty("users").GetInt32());
    }

    [Fact]
    public async Task A_client_not_subscribed_to_a_channel_gets_none_of_its_messages_joins_or_leaves()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await using var eve = await server.ConnectAsync("eve");
        await eve.CallAsync(new { type = "subscribe", channel = "chat:elsewhere" });
        await alice.CallAsync(new { type = "subscribe", channel = "chat:private" });

        await bob.CallAsync(new { type = "subscribe", channel = "chat:private" });
        await bob.CallAsync(new { type = "publish", channel = "chat:private", data = "for subscribers" });
        await bob.CallAsync(new { type = "unsubscribe", channel = "chat:private" });
        await server.PostAsync<JsonElement>("/api/channels/chat:private/messages", new { data = "from the backend" });

        // The subscriber gets all four, in the order they happened on the channel.
        var pushes = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            var push = await alice.NextPushAsync();
            Assert.Equal("chat:private", push.GetProperty("channel").GetString());
            pushes.Add(push.GetProperty("type").GetString() is "message" ? push.GetProperty("data").GetString() : push.GetProperty("type").GetString());
        }

        Assert.Equal(["join", "for subscribers", "leave", "from the backend"], pushes);
        await eve.CallAsync(new { type = "publish", channel = "chat:elsewhere", data = "eve's own" });
        Assert.Equal("eve's own", (await eve.NextPushAsync("message")).GetProperty("data").GetString());
        Assert.True(await eve.NoPushAsync("message", TimeSpan.FromMilliseconds(300)));
        Assert.DoesNotContain(eve.Frames, f => f.TryGetProperty("channel", out var c) && c.GetString() == "chat:private");
        Assert.DoesNotContain(eve.Frames, f => f.TryGetProperty("type", out var t) && t.GetString() is "join" or "leave");
    }

    [Fact]
    public async Task A_namespace_with_presence_off_answers_presence_with_not_found_and_pushes_no_join_or_leave()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:quiet:Presence"] = "false" });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.CallAsync(new { type = "subscribe", channel = "quiet:room" });
        await bob.CallAsync(new { type = "subscribe", channel = "quiet:room" });

        Assert.Equal("not_found", await alice.ErrorAsync(new { type = "presence", channel = "quiet:room" }));
        using var rest = await server.Http.GetAsync("/api/channels/quiet:room/presence");
        Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
        Assert.Equal("not_found", (await rest.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        // Messages still flow; only presence is off, and other namespaces keep it.
        await bob.CallAsync(new { type = "unsubscribe", channel = "quiet:room" });
        await bob.CallAsync(new { type = "publish", channel = "quiet:room", data = "still here" });
        Assert.Equal("still here", (await alice.NextPushAsync("message")).GetProperty("data").GetString());
        Assert.DoesNotContain(alice.Frames, f => f.TryGetProperty("type", out var t) && t.GetString() is "join" or "leave");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:room" });
        Assert.Equal(1, (await alice.CallAsync(new { type = "presence", channel = "chat:room" })).GetProperty("users").GetInt32());
    }

    [Fact]
    public async Task A_namespace_with_join_leave_off_lists_presence_but_pushes_no_join_or_leave()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:silent:JoinLeave"] = "false" });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var carol = await server.ConnectAsync("carol");
        await alice.CallAsync(new { type = "subscribe", channel = "silent:room" });
        await bob.CallAsync(new { type = "subscribe", channel = "silent:room" });
        await carol.CallAsync(new { type = "subscribe", channel = "silent:room" });

        Assert.Equal(3, (await alice.CallAsync(new { type = "presence", channel = "silent:room" })).GetProperty("users").GetInt32());
        await bob.CallAsync(new { type = "unsubscribe", channel = "silent:room" });
        await carol.DisposeAsync();
        await Eventually.TrueAsync(async () =>
            (await alice.CallAsync(new { type = "presence", channel = "silent:room" })).GetProperty("users").GetInt32() == 1, "bob and carol left presence");

        // A message published after the leaves would have queued behind them on the channel's stream.
        await server.PostAsync<JsonElement>("/api/channels/silent:room/messages", new { data = "after" });
        Assert.Equal("after", (await alice.NextPushAsync("message")).GetProperty("data").GetString());
        Assert.True(await alice.NoPushAsync("leave", TimeSpan.FromMilliseconds(300)));
        Assert.DoesNotContain(alice.Frames, f => f.TryGetProperty("type", out var t) && t.GetString() is "join" or "leave");
    }

    [Fact]
    public async Task Unsubscribe_stops_delivery_and_a_second_unsubscribe_is_not_found()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "news" });
        await alice.CallAsync(new { type = "publish", channel = "news", data = 1 });
        await alice.NextPushAsync("message");

        await alice.CallAsync(new { type = "unsubscribe", channel = "news" });
        await alice.CallAsync(new { type = "publish", channel = "news", data = 2 });
        Assert.True(await alice.NoPushAsync("message", TimeSpan.FromMilliseconds(300)));
        Assert.Equal("not_found", await alice.ErrorAsync(new { type = "unsubscribe", channel = "news" }));
    }

    [Fact]
    public async Task History_reads_latest_after_and_before_with_a_limit()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        for (var i = 1; i <= 10; i++)
        {
            await alice.CallAsync(new { type = "publish", channel = "log", data = i });
        }

        static long[] Offsets(System.Text.Json.JsonElement page) =>
            page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()).ToArray();

        var latest = await alice.CallAsync(new { type = "history", channel = "log", limit = 3 });
        Assert.Equal([8L, 9, 10], Offsets(latest));
        Assert.Equal(10, latest.GetProperty("offset").GetInt64());
        var epoch = latest.GetProperty("epoch").GetString();

        var after = await alice.CallAsync(new { type = "history", channel = "log", limit = 2, since = new { epoch, offset = 4 } });
        Assert.Equal([5L, 6], Offsets(after));

        var before = await alice.CallAsync(new { type = "history", channel = "log", limit = 2, before = 4 });
        Assert.Equal([2L, 3], Offsets(before));
    }

    [Fact]
    public async Task A_thousand_channels_opened_and_left_return_the_activation_count_to_zero()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "100000",
            ["Realtime:Limits:CommandBurst"] = "100000",
            ["Realtime:Limits:MaxSubscriptions"] = "2000",
            // Renewals run all the time, so they race the unsubscribes: a renewal or its catch-up reaching a channel
            // just left must not wake a grain that nothing then deactivates (it failed this way before the fix). No
            // lease runs out during the test, so a ghost member left by a renewal would fail it too; a renewal that
            // comes late under load must not take a live member's lease.
            ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.250",
            ["Realtime:Silo:NodeTimeout"] = "00:02:00",
        });
        await using var alice = await server.ConnectAsync("alice");
        var baseline = await server.CountActivationsAsync("ChannelGrain");
        for (var i = 0; i < 1000; i++)
        {
            await alice.CallAsync(new { type = "subscribe", channel = $"churn:{i}" });
        }

        // Every subscribe has returned, and a renewal however late keeps its member (ChannelGrain.RenewAsync): all
        // 1,000 are active. Counted until they are, with a deadline, rather than once.
        await Eventually.TrueAsync(async () => await server.CountActivationsAsync("ChannelGrain") == baseline + 1000,
            "every channel grain activated", TimeSpan.FromSeconds(30));
        for (var i = 0; i < 1000; i++)
        {
            await alice.CallAsync(new { type = "unsubscribe", channel = $"churn:{i}" });
        }

        // Listing every activation is heavy: ask a few times a second, for as long as a loaded machine needs. A
        // failure names the channels still active, for their grains' log lines.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        List<string> active;
        while ((active = await server.ActivationsAsync("ChannelGrain")).Count != baseline && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.True(active.Count == baseline, $"{active.Count - baseline} channel grains still active after 60 s: {string.Join(", ", active.Order().Take(20))}");
    }
}
