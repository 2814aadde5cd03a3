using System.Collections.Concurrent;
using System.Text;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Users;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    /// <summary>A JSON value of about <paramref name="bytes"/> bytes: past PostgreSQL's 8000-byte NOTIFY limit.</summary>
    private static byte[] LargeJson(int bytes, char fill) => Encoding.UTF8.GetBytes($$"""{"text":"{{new string(fill, bytes)}}"}""");

    [Fact]
    public async Task Events_larger_than_a_notify_payload_reach_another_node_intact()
    {
        var channel = Unique("chat:large");
        var user = Unique("large-user");
        var second = await SecondNodeAsync();
        var events = new ConcurrentQueue<StreamEvent>();
        using var onChannel = second.Subscribe(StreamKey.ForChannel(channel), events.Enqueue);
        using var onUser = second.Subscribe(StreamKey.ForUser(user), events.Enqueue);

        var message = LargeJson(20_000, 'm');
        var notification = LargeJson(12_000, 'n');
        var direct = LargeJson(9_000, 'd');
        var appended = await Engine.AppendAsync(new AppendRequest(channel, "alice", message, 10, TimeSpan.FromHours(1)), CancellationToken.None);
        var stored = await Engine.AppendInboxAsync(new InboxAppend(user, notification), CancellationToken.None);
        await Engine.PublishAsync(StreamKey.ForUser(user), new DirectEvent(user, "alice", direct, Clock.GetUtcNow()));

        await Eventually.AssertAsync(() => Assert.Equal(3, events.Count));
        var publication = Assert.IsType<PublicationEvent>(events.ElementAt(0)).Publication;
        Assert.Equal((appended.Offset, appended.Epoch, "alice"), (publication.Offset, publication.Epoch, publication.From));
        Assert.Equal(message, publication.Data);
        var pushed = Assert.IsType<NotificationEvent>(events.ElementAt(1)).Entry;
        Assert.Equal(stored.Id, pushed.Id);
        Assert.Equal(notification, pushed.Data);
        Assert.Equal(direct, Assert.IsType<DirectEvent>(events.ElementAt(2)).Data);
    }
}
