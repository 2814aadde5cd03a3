using System.Collections.Concurrent;
using System.Reflection;
using Realtime.Api.Feeds;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Tests.Channels;

/// <summary>Races between a front end and its channel grains: renewals against subscribes still on their way, and
/// subscribes that reach an activation as it goes.</summary>
public sealed class ChannelRaceTests
{
    [Fact]
    public async Task A_channel_whose_subscribes_have_not_been_answered_yet_is_not_renewed()
    {
        // A renewal of such a channel could reach the grain before the subscribes, wake it, find it empty and let it
        // go, turning away the subscribes queued behind (a reconnect storm saw them answered unavailable).
        var calls = new ChannelCalls();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<IIncomingGrainCallFilter>(calls));
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        var feed = feeds.Add("chat:unanswered", new Subscriber("c1", confirmed: false));

        await feeds.RenewAsync(feed, TimeSpan.Zero, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Empty(calls.Methods);
        Assert.DoesNotContain(await server.ActivationsAsync("ChannelGrain"), id => id.EndsWith("/chat:unanswered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_renewal_names_the_unanswered_subscribes_beside_the_members_so_the_grain_keeps_them()
    {
        await using var server = await RealtimeServer.StartAsync();
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        var grain = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>("chat:renewal");
        Subscriber alice = new("c1", confirmed: true), bob = new("c2", confirmed: false);
        var feed = feeds.Add("chat:renewal", alice);
        await grain.SubscribeAsync(feeds.MemberOf(alice), new ClientIdentity("c1", []), since: null);
        feeds.Add("chat:renewal", bob);
        await grain.SubscribeAsync(feeds.MemberOf(bob), new ClientIdentity("c2", []), since: null);

        // Bob's reply has not reached his socket: the renewal lists only alice, and names bob as pending.
        await feeds.RenewAsync(feed, TimeSpan.Zero, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(["c1", "c2"], (await grain.PresenceAsync(null)).Select(e => e.Client).Order());

        // Bob's socket closed before its reply came: the next renewal lets him go.
        bob.Close();
        await feeds.RenewAsync(feed, TimeSpan.Zero, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(["c1"], (await grain.PresenceAsync(null)).Select(e => e.Client));
    }

    [Fact]
    public async Task The_renewal_of_a_feed_replaced_since_its_round_began_does_not_drop_the_newcomer()
    {
        // A heartbeat's round lists the feeds, then renews them a few at a time. Meanwhile the channel's only socket
        // here leaves (its feed goes) and another subscribes (a new feed). The old feed's renewal, empty, comes last.
        await using var server = await RealtimeServer.StartAsync();
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        var grain = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>("chat:replaced");
        Subscriber alice = new("c1", confirmed: true), bob = new("c2", confirmed: true);
        var old = feeds.Add("chat:replaced", alice);
        await grain.SubscribeAsync(feeds.MemberOf(alice), new ClientIdentity("c1", []), since: null);
        feeds.Remove("chat:replaced", alice);
        await feeds.LeaveAsync("chat:replaced", "c1");
        feeds.Add("chat:replaced", bob);
        await grain.SubscribeAsync(feeds.MemberOf(bob), new ClientIdentity("c2", []), since: null);

        await feeds.RenewAsync(old, TimeSpan.Zero, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(["c2"], (await grain.PresenceAsync(null)).Select(e => e.Client));
    }

    [Fact]
    public async Task A_subscribe_that_orleans_turned_away_unrun_is_sent_again_and_the_client_is_subscribed()
    {
        // As when it reached an activation that was going and its forwarding to the next one failed.
        var calls = new ChannelCalls { TurnAway = 2 };
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<IIncomingGrainCallFilter>(calls));
        await using var alice = await server.ConnectAsync("alice");

        var reply = await alice.CallAsync(new { type = "subscribe", channel = "chat:turned-away" });

        Assert.Equal("chat:turned-away", reply.GetProperty("channel").GetString());
        Assert.Equal(["SubscribeAsync", "SubscribeAsync", "SubscribeAsync"], calls.Methods.Where(m => m == "SubscribeAsync"));
    }

    /// <summary>The methods of channel grains called on the silo.</summary>
    private sealed class ChannelCalls : IIncomingGrainCallFilter
    {
        public ConcurrentQueue<string> Methods { get; } = new();

        /// <summary>How many subscribes to turn away, as Orleans does a message it could not forward.</summary>
        public int TurnAway;

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.Grain is IChannelGrain)
            {
                Methods.Enqueue(context.MethodName);
                if (context.MethodName == nameof(IChannelGrain.SubscribeAsync) && Interlocked.Decrement(ref TurnAway) >= 0)
                {
                    throw Rejection("Forwarding failed: tried to forward message for 2 times to invalid activation. Rejecting now.");
                }
            }

            return context.Invoke();
        }

        // Orleans makes these itself: the constructor is not public.
        private static OrleansMessageRejectionException Rejection(string message) =>
            (OrleansMessageRejectionException)Activator.CreateInstance(typeof(OrleansMessageRejectionException),
                BindingFlags.NonPublic | BindingFlags.Instance, binder: null, [message], culture: null)!;
    }

    private sealed class Subscriber(string client, bool confirmed) : IChannelSubscriber
    {
        private volatile bool _closed;

        public string Client => client;

        public string User => client;

        public bool IsConfirmed => confirmed;

        public bool IsClosed => _closed;

        public void Close() => _closed = true;

        public void Deliver(long offset, PushFrame frame)
        {
        }

        public void Push(long sequence, PushFrame frame)
        {
        }

        public void Evict(string reason)
        {
        }
    }
}
