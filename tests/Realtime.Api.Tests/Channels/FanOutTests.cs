using System.Text;
using Realtime.Api.Feeds;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Grains;
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

    /// <summary>A subscriber that keeps the first message frame it is handed.</summary>
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

        public void Push(long sequence, PushFrame frame)
        {
            // join and leave of the other subscribers
        }

        public void Evict(string reason) => _delivered.TrySetException(new InvalidOperationException(reason));
    }
}
