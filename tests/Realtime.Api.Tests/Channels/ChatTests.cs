using Microsoft.Extensions.DependencyInjection.Extensions;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Memory;

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
        });
        await using var alice = await server.ConnectAsync("alice");
        var baseline = server.Runtime.CountActivations<Realtime.Contracts.Grains.IChannelGrain>();
        for (var i = 0; i < 1000; i++)
        {
            await alice.CallAsync(new { type = "subscribe", channel = $"churn:{i}" });
        }

        Assert.Equal(baseline + 1000, server.Runtime.CountActivations<Realtime.Contracts.Grains.IChannelGrain>());
        for (var i = 0; i < 1000; i++)
        {
            await alice.CallAsync(new { type = "unsubscribe", channel = $"churn:{i}" });
        }

        await Eventually.TrueAsync(() => server.Runtime.CountActivations<Realtime.Contracts.Grains.IChannelGrain>() == baseline,
            "every channel grain deactivated");
    }

    [Fact]
    public async Task A_presence_entry_the_engine_could_not_remove_is_removed_once_it_answers_again()
    {
        // The first removals fail, as they would while PostgreSQL restarts. The node stays alive and keeps its
        // heartbeat, so only a retry can take bob's entry out of the list.
        var failures = 2;
        await using var server = await RealtimeServer.StartAsync(services: services => services.Replace(ServiceDescriptor.Singleton<IRealtimeEngine>(sp =>
            FailingEngine.Wrap(ActivatorUtilities.CreateInstance<MemoryEngine>(sp), (method, _) =>
                method.Name == nameof(IRealtimeEngine.RemovePresenceAsync) && Interlocked.Decrement(ref failures) >= 0
                    ? new IOException("the engine is unreachable")
                    : null))));
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:outage" });
        await bob.CallAsync(new { type = "subscribe", channel = "chat:outage" });
        await alice.NextPushAsync("join");

        await bob.CallAsync(new { type = "unsubscribe", channel = "chat:outage" });
        var listed = await alice.CallAsync(new { type = "presence", channel = "chat:outage" });
        Assert.Equal(2, listed.GetProperty("users").GetInt32()); // the removal failed: bob is still listed

        var leave = await alice.NextPushAsync("leave", TimeSpan.FromSeconds(15));
        Assert.Equal("bob", leave.GetProperty("user").GetString());
        listed = await alice.CallAsync(new { type = "presence", channel = "chat:outage" });
        Assert.Equal(["alice"], listed.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("user").GetString()));
        Assert.True(failures < 0, "both failing removals were tried");
    }
}
