using System.Collections.Concurrent;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Streams;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    [Fact]
    public async Task A_channel_subscriber_receives_publications_in_offset_order()
    {
        var channel = Unique("chat:stream");
        var received = new ConcurrentQueue<Publication>();
        using var subscription = Engine.Subscribe(StreamKey.ForChannel(channel), e =>
        {
            if (e is PublicationEvent p)
            {
                received.Enqueue(p.Publication);
            }
        });

        await Task.WhenAll(Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await AppendAsync(channel, writer * 100 + i);
            }
        })));

        await Eventually.AssertAsync(() => Assert.Equal(Range(1, 100), received.Select(p => p.Offset)));
        Assert.All(received, p => Assert.Equal(channel, p.Channel));
    }

    [Fact]
    public async Task A_subscriber_on_another_node_receives_the_channel_stream()
    {
        var channel = Unique("chat:cluster");
        var second = await SecondNodeAsync();
        var received = new ConcurrentQueue<long>();
        using var subscription = second.Subscribe(StreamKey.ForChannel(channel), CollectOffsets(received));

        for (var i = 1; i <= 20; i++)
        {
            await AppendAsync(channel, i);
        }

        await Eventually.AssertAsync(() => Assert.Equal(Range(1, 20), received));
    }

    [Fact]
    public async Task A_subscriber_hears_only_its_own_stream()
    {
        var channel = Unique("chat:mine");
        var received = new ConcurrentQueue<StreamEvent>();
        using var subscription = Engine.Subscribe(StreamKey.ForChannel(channel), received.Enqueue);

        await AppendAsync(Unique("chat:other"), 1);
        await Engine.PublishAsync(StreamKey.ForUser(channel), new DisconnectEvent(channel, "same name, other kind"));
        await AppendAsync(channel, 2);

        await Eventually.AssertAsync(() => Assert.NotEmpty(received));
        var only = Assert.IsType<PublicationEvent>(Assert.Single(received));
        Assert.Equal("""{"n":2}""", Text(only.Publication.Data));
    }

    [Fact]
    public async Task Disposing_a_subscription_stops_delivery()
    {
        var channel = Unique("chat:leave");
        var leaving = new ConcurrentQueue<long>();
        var staying = new ConcurrentQueue<long>();
        var leavingSubscription = Engine.Subscribe(StreamKey.ForChannel(channel), CollectOffsets(leaving));
        using var stayingSubscription = Engine.Subscribe(StreamKey.ForChannel(channel), CollectOffsets(staying));
        await AppendAsync(channel, 1);
        await Eventually.AssertAsync(() => Assert.Equal([1L], leaving));

        leavingSubscription.Dispose();
        await AppendAsync(channel, 2);
        await AppendAsync(channel, 3);

        // Once the subscriber that stayed has both, the one that left would have had them too.
        await Eventually.AssertAsync(() => Assert.Equal([1L, 2L, 3L], staying));
        Assert.Equal([1L], leaving);
    }

    [Fact]
    public async Task User_streams_carry_published_events_to_every_node()
    {
        var user = Unique("bob");
        var second = await SecondNodeAsync();
        var here = new ConcurrentQueue<StreamEvent>();
        var there = new ConcurrentQueue<StreamEvent>();
        using var hereSubscription = Engine.Subscribe(StreamKey.ForUser(user), here.Enqueue);
        using var thereSubscription = second.Subscribe(StreamKey.ForUser(user), there.Enqueue);

        await Engine.PublishAsync(StreamKey.ForUser(user), new DirectEvent(user, "alice", Json(1), Clock.GetUtcNow()));
        await Engine.PublishAsync(StreamKey.ForUser(user), new DisconnectEvent(user, "kicked"));

        foreach (var received in new[] { here, there })
        {
            await Eventually.AssertAsync(() => Assert.Equal(2, received.Count));
            var events = received.ToArray();
            var direct = Assert.IsType<DirectEvent>(events[0]);
            Assert.Equal(user, direct.User);
            Assert.Equal("alice", direct.From);
            Assert.Equal("""{"n":1}""", Text(direct.Data));
            Assert.Equal("kicked", Assert.IsType<DisconnectEvent>(events[1]).Reason);
        }
    }

    private static Action<StreamEvent> CollectOffsets(ConcurrentQueue<long> into) => e =>
    {
        if (e is PublicationEvent p)
        {
            into.Enqueue(p.Publication.Offset);
        }
    };
}
