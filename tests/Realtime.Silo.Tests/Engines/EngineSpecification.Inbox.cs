using Realtime.Contracts.Users;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    [Fact]
    public async Task The_inbox_lists_notifications_newest_first_with_the_unread_count()
    {
        var user = Unique("alice");
        var stored = await NotifyManyAsync(user, 3);

        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);

        Assert.Equal(["""{"n":3}""", """{"n":2}""", """{"n":1}"""], page.Items.Select(e => Text(e.Data)));
        Assert.Equal(stored.Select(e => e.Id).Reverse(), page.Items.Select(e => e.Id));
        Assert.All(page.Items, e => Assert.Equal(user, e.User));
        Assert.All(page.Items, e => Assert.False(e.Read));
        Assert.Equal(3, stored.Select(e => e.Id).Distinct().Count());
        Assert.Equal(3, page.Unread);
    }

    [Fact]
    public async Task The_inbox_filters_unread_and_honours_the_limit()
    {
        var user = Unique("alice");
        var stored = await NotifyManyAsync(user, 4);
        await Engine.MarkReadAsync(user, [stored[1].Id, stored[3].Id], CancellationToken.None);

        var unread = await Engine.ListInboxAsync(user, unreadOnly: true, limit: 10, CancellationToken.None);
        var newestTwo = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 2, CancellationToken.None);

        Assert.Equal([stored[2].Id, stored[0].Id], unread.Items.Select(e => e.Id));
        Assert.Equal([stored[3].Id, stored[2].Id], newestTwo.Items.Select(e => e.Id));
        Assert.Equal(2, newestTwo.Unread); // the count covers the whole inbox, not the page
    }

    [Fact]
    public async Task Marking_read_returns_the_unread_count_after()
    {
        var user = Unique("alice");
        var stored = await NotifyManyAsync(user, 3);

        Assert.Equal(2, await Engine.MarkReadAsync(user, [stored[0].Id], CancellationToken.None));
        Assert.Equal(2, await Engine.MarkReadAsync(user, [stored[0].Id, "no-such-id"], CancellationToken.None));
        Assert.Equal(2, await Engine.CountUnreadAsync(user, CancellationToken.None));
        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.True(page.Items.Single(e => e.Id == stored[0].Id).Read);
        Assert.Equal(0, await Engine.MarkReadAsync(user, [stored[1].Id, stored[2].Id], CancellationToken.None));
    }

    [Fact]
    public async Task One_user_cannot_mark_another_users_notifications_read()
    {
        var alice = Unique("alice");
        var mallory = Unique("mallory");
        var stored = await NotifyManyAsync(alice, 2);

        await Engine.MarkReadAsync(mallory, [stored[0].Id], CancellationToken.None);

        Assert.Equal(2, await Engine.CountUnreadAsync(alice, CancellationToken.None));
    }

    [Fact]
    public async Task A_user_with_no_notifications_has_an_empty_inbox()
    {
        var user = Unique("nobody");

        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);

        Assert.Empty(page.Items);
        Assert.Equal(0, page.Unread);
        Assert.Equal(0, await Engine.CountUnreadAsync(user, CancellationToken.None));
    }

    [Fact]
    public async Task An_inbox_idempotency_key_stores_the_notification_once()
    {
        var user = Unique("alice");
        var key = Unique("key");

        var first = await Engine.AppendInboxAsync(new InboxAppend(user, Json(1), key), CancellationToken.None);
        var retry = await Engine.AppendInboxAsync(new InboxAppend(user, Json(1), key), CancellationToken.None);

        Assert.Equal(first.Entry.Id, retry.Entry.Id);
        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.Equal([first.Entry.Id], page.Items.Select(e => e.Id));
    }

    [Fact]
    public async Task The_inbox_keeps_only_the_newest_max_items()
    {
        var user = Unique("alice");
        var stored = await NotifyManyAsync(user, Retention.InboxMaxItems + 3);

        await Engine.TrimAsync(CancellationToken.None);
        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 100, CancellationToken.None);

        Assert.Equal(stored.TakeLast(Retention.InboxMaxItems).Select(e => e.Id).Reverse(), page.Items.Select(e => e.Id));
        Assert.Equal(Retention.InboxMaxItems, page.Unread);
    }

    [Fact]
    public async Task Notifications_older_than_the_inbox_ttl_are_dropped_by_trim()
    {
        var user = Unique("alice");
        await NotifyManyAsync(user, 2);
        Clock.Advance(Retention.InboxTtl * 0.6);
        var recent = (await Engine.AppendInboxAsync(new InboxAppend(user, Json(3)), CancellationToken.None)).Entry;

        Clock.Advance(Retention.InboxTtl * 0.6);
        await Engine.TrimAsync(CancellationToken.None);

        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.Equal([recent.Id], page.Items.Select(e => e.Id));
        Assert.Equal(1, page.Unread);
    }

    [Fact]
    public async Task A_stored_notification_is_visible_from_every_node_at_once()
    {
        var user = Unique("alice");
        var second = await SecondNodeAsync();

        var appended = await Engine.AppendInboxAsync(new InboxAppend(user, Json(7)), CancellationToken.None);

        Assert.False(appended.Scheduled);
        var page = await second.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.Equal([appended.Entry.Id], page.Items.Select(e => e.Id));
        Assert.Equal("""{"n":7}""", Text(page.Items.Single().Data));
    }

    [Fact]
    public async Task A_scheduled_notification_stays_hidden_until_due_then_is_delivered_once()
    {
        var user = Unique("alice");
        var dueAt = Clock.GetUtcNow() + TimeSpan.FromMinutes(10);

        var scheduled = await Engine.AppendInboxAsync(new InboxAppend(user, Json(1), DeliverAt: dueAt), CancellationToken.None);

        Assert.True(scheduled.Scheduled);
        var early = await Engine.DeliverDueAsync(user, CancellationToken.None);
        Assert.Empty(early.Delivered);
        Assert.Equal(scheduled.Entry.Timestamp, early.Next);
        Assert.Empty((await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None)).Items);
        Assert.Equal(0, await Engine.CountUnreadAsync(user, CancellationToken.None));

        Clock.Advance(TimeSpan.FromMinutes(10));
        var due = await Engine.DeliverDueAsync(user, CancellationToken.None);
        Assert.Equal([scheduled.Entry.Id], due.Delivered.Select(e => e.Id));
        Assert.Null(due.Next);
        Assert.Empty((await Engine.DeliverDueAsync(user, CancellationToken.None)).Delivered);

        var page = await Engine.ListInboxAsync(user, unreadOnly: false, limit: 10, CancellationToken.None);
        Assert.Equal([scheduled.Entry.Id], page.Items.Select(e => e.Id));
        Assert.Equal(1, page.Unread);
    }

    [Fact]
    public async Task Delivering_due_notifications_concerns_one_user_only()
    {
        var alice = Unique("alice");
        var bob = Unique("bob");
        var dueAt = Clock.GetUtcNow() + TimeSpan.FromMinutes(1);
        await Engine.AppendInboxAsync(new InboxAppend(alice, Json(1), DeliverAt: dueAt), CancellationToken.None);
        var bobs = await Engine.AppendInboxAsync(new InboxAppend(bob, Json(2), DeliverAt: dueAt), CancellationToken.None);
        Clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Single((await Engine.DeliverDueAsync(alice, CancellationToken.None)).Delivered);

        Assert.Empty((await Engine.ListInboxAsync(bob, unreadOnly: false, limit: 10, CancellationToken.None)).Items);
        Assert.Equal([bobs.Entry.Id], (await Engine.DeliverDueAsync(bob, CancellationToken.None)).Delivered.Select(e => e.Id));
    }

    /// <summary>Stores <paramref name="count"/> notifications a second apart; returns them oldest first.</summary>
    private async Task<List<InboxEntry>> NotifyManyAsync(string user, int count)
    {
        var stored = new List<InboxEntry>();
        for (var i = 1; i <= count; i++)
        {
            stored.Add((await Engine.AppendInboxAsync(new InboxAppend(user, Json(i)), CancellationToken.None)).Entry);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        return stored;
    }
}
