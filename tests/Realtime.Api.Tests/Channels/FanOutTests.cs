using System.Collections.Concurrent;
using System.Text;
using Realtime.Api.Feeds;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Tests.Channels;

/// <summary>SPEC §11: a message is serialised once per front end (once per wire format), and the same bytes go to every local subscriber.</summary>
public sealed class FanOutTests
{
    [Fact]
    public async Task One_publication_reaches_every_local_subscriber_as_the_very_same_byte_array()
    {
        await using var server = await RealtimeServer.StartAsync();
        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        var channel = grains.GetGrain<IChannelGrain>("chat:fanout");
        RecordingSubscriber[] subscribers = [new("c1", "alice"), new("c2", "bob"), new("c3", "bob")];
        foreach (var subscriber in subscribers)
        {
            var feed = feeds.Add("chat:fanout", subscriber);
            var result = await channel.SubscribeAsync(feeds.MemberOf(subscriber), new ClientIdentity(subscriber.User, []), since: null);
            await feed.StartAtAsync(result.Epoch, result.Offset);
        }

        var published = await channel.PublishAsync(null, """{"text":"once"}"""u8.ToArray().AsImmutable(), idempotencyKey: null);

        var frames = await Task.WhenAll(subscribers.Select(s => s.Delivered.WaitAsync(TestClient.Timeout)));
        Assert.All(frames, frame => Assert.Same(frames[0], frame));
        Assert.All(subscribers, s => Assert.Equal(published.Offset, s.Offset));
        Assert.Contains("""
            "data":{"text":"once"}
            """, Encoding.UTF8.GetString(frames[0].Json), StringComparison.Ordinal);

        // Its MessagePack form too is made once, whichever realtime.msgpack socket asks first, and shared by all of them.
        var forms = await Task.WhenAll(frames.Select(f => Task.Run(() => f.MessagePack)));
        Assert.All(forms, form => Assert.Same(forms[0], form));
        Assert.Same(forms[0], frames[0].In(WireFormat.MessagePack));
    }

    [Fact]
    public async Task A_subscription_added_before_its_feed_started_is_told_to_take_what_lies_below_the_start_from_history()
    {
        // Two sockets subscribe at once to a channel new on this node: both join the feed before either reply, and the
        // later reply (further on) starts it. The earlier one must then reach the start from history, or it would jump.
        await using var server = await RealtimeServer.StartAsync();
        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        var channel = grains.GetGrain<IChannelGrain>("chat:start");
        var data = "{\"n\":1}"u8.ToArray().AsImmutable();
        for (var i = 0; i < 3; i++)
        {
            await channel.PublishAsync(null, data, idempotencyKey: null);
        }

        RecordingSubscriber early = new("c1", "alice"), late = new("c2", "bob"), after = new("c3", "carol");
        var feed = feeds.Add("chat:start", early);
        feeds.Add("chat:start", late);
        var earlyReply = await channel.SubscribeAsync(feeds.MemberOf(early), new ClientIdentity("alice", []), since: null);
        await channel.PublishAsync(null, data, idempotencyKey: null);
        await channel.PublishAsync(null, data, idempotencyKey: null);
        var lateReply = await channel.SubscribeAsync(feeds.MemberOf(late), new ClientIdentity("bob", []), since: null);

        Assert.Equal((3L, 5L), (earlyReply.Offset, lateReply.Offset));
        Assert.Equal(5, await feed.StartAtAsync(lateReply.Epoch, lateReply.Offset));
        Assert.Equal(5, await feed.StartAtAsync(earlyReply.Epoch, earlyReply.Offset));

        // A subscription added once the feed runs is handed everything after its own reply.
        feeds.Add("chat:start", after);
        var afterReply = await channel.SubscribeAsync(feeds.MemberOf(after), new ClientIdentity("carol", []), since: null);
        Assert.Equal(afterReply.Offset, await feed.StartAtAsync(afterReply.Epoch, afterReply.Offset));
    }

    [Fact]
    public async Task A_later_subscribe_reply_does_not_hide_from_the_subscribers_already_here_a_leave_still_on_its_way()
    {
        // The first reply starts the feed's joins and leaves after its sequence (10). Another socket's reply comes later
        // with a later sequence (12): a leave between the two (11) was pushed before that reply was made, and is still on
        // the stream. The socket already here must get it; only the new one's own floor is above it.
        await using var server = await RealtimeServer.StartAsync();
        var feeds = server.Services.GetRequiredService<ChannelFeeds>();
        RecordingSubscriber here = new("c1", "alice"), later = new("c2", "bob");
        var feed = feeds.Add("chat:presence-start", here);
        await feed.StartAtAsync("epoch", 0, presenceSequence: 10);
        feeds.Add("chat:presence-start", later);
        await feed.StartAtAsync("epoch", 0, presenceSequence: 12);

        feed.OnPresence(new PresenceEntry("c9", "carol", "node"), joined: false, sequence: 11);
        feed.OnPresence(new PresenceEntry("c9", "carol", "node"), joined: false, sequence: 11); // the same leave from a repair list

        Assert.Equal([11L], here.Presence);
    }

    /// <summary>A subscriber that keeps the first message frame it is handed, and the joins and leaves.</summary>
    private sealed class RecordingSubscriber(string client, string user) : IChannelSubscriber
    {
        private readonly TaskCompletionSource<PushFrame> _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Client => client;

        public string User => user;

        public bool IsConfirmed => true;

        public bool IsClosed => false;

        public Task<PushFrame> Delivered => _delivered.Task;

        public long Offset { get; private set; }

        public void Deliver(long offset, PushFrame frame)
        {
            Offset = offset;
            _delivered.TrySetResult(frame);
        }

        /// <summary>The sequences of the joins and leaves of the other subscribers it was handed.</summary>
        public ConcurrentQueue<long> Presence { get; } = new();

        public void Push(long sequence, PushFrame frame) => Presence.Enqueue(sequence);

        public void Evict(string reason) => _delivered.TrySetException(new InvalidOperationException(reason));
    }
}
