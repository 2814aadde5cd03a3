using System.Text;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Users;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    private static byte[] LargeJson(int bytes, char fill) => Encoding.UTF8.GetBytes($$"""{"text":"{{new string(fill, bytes)}}"}""");

    [Fact]
    public async Task Large_messages_and_notifications_read_back_intact_from_another_node()
    {
        var channel = Unique("chat:large");
        var user = Unique("large-user");
        var second = await SecondNodeAsync();
        var message = LargeJson(60_000, 'm');
        var notification = LargeJson(30_000, 'n');

        var appended = await Engine.AppendAsync(new AppendRequest(channel, "alice", message, 10, TimeSpan.FromHours(1)), CancellationToken.None);
        var stored = await Engine.AppendInboxAsync(new InboxAppend(user, notification), CancellationToken.None);

        var history = await second.ReadHistoryAsync(channel, new HistoryQuery(10), CancellationToken.None);
        Assert.Equal(appended.Offset, Assert.Single(history.Messages).Offset);
        Assert.Equal(message, history.Messages[0].Data);
        var inbox = await second.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.Equal(stored.Entry.Id, Assert.Single(inbox.Items).Id);
        Assert.Equal(notification, inbox.Items[0].Data);
    }
}
