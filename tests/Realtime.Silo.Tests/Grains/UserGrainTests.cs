using System.Text;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;

namespace Realtime.Silo.Tests.Grains;

/// <summary>The user grain on two real silos: notifications stored then pushed on the user's stream, idempotency,
/// scheduled notifications by timer and reminder, direct messages and disconnects.</summary>
public sealed class UserGrainTests : IAsyncLifetime
{
    private GrainCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await GrainCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static Immutable<byte[]> Json(string text) => Encoding.UTF8.GetBytes($$"""{"t":"{{text}}"}""").AsImmutable();

    [Fact]
    public async Task A_notification_is_stored_unread_and_pushed_once_on_the_users_stream()
    {
        var users = await _cluster.ReadUsersAsync();
        var alice = _cluster.Client.GetGrain<IUserGrain>("alice");

        var id = await alice.NotifyAsync(Json("hello"), "key-1", deliverAt: null);
        var retry = await alice.NotifyAsync(Json("hello"), "key-1", deliverAt: null);

        Assert.Equal(id, retry);
        var page = await alice.NotificationsAsync(unreadOnly: true, limit: 10);
        Assert.Equal([id], page.Items.Select(e => e.Id));
        Assert.Equal(1, page.Unread);
        await Eventually.AssertAsync(() => Assert.Single(users.Of<NotificationEvent>()));
        await alice.SendAsync("bob", Json("marker")); // once the marker is in, a second push would be too
        await Eventually.AssertAsync(() => Assert.Single(users.Of<DirectEvent>()));
        Assert.Equal([id], users.Of<NotificationEvent>().Select(n => n.Entry.Id));
        Assert.Equal(0, await alice.ReadAsync([id]));
    }

    [Fact]
    public async Task A_scheduled_notification_stays_hidden_until_its_time_then_is_pushed_once()
    {
        var users = await _cluster.ReadUsersAsync();
        var carol = _cluster.Client.GetGrain<IUserGrain>("carol");

        var id = await carol.NotifyAsync(Json("later"), null, DateTimeOffset.UtcNow.AddSeconds(2));

        Assert.Empty((await carol.NotificationsAsync(unreadOnly: false, limit: 10)).Items);
        await Eventually.AssertAsync(() => Assert.Equal([id], users.Of<NotificationEvent>().Select(n => n.Entry.Id)), TimeSpan.FromSeconds(30));
        Assert.Equal([id], (await carol.NotificationsAsync(unreadOnly: false, limit: 10)).Items.Select(e => e.Id));
    }

    [Fact]
    public async Task A_scheduled_notification_is_delivered_by_its_reminder_after_the_grain_is_gone()
    {
        var users = await _cluster.ReadUsersAsync();
        var dave = _cluster.Client.GetGrain<IUserGrain>("dave");
        var id = await dave.NotifyAsync(Json("after-deactivation"), null, DateTimeOffset.UtcNow.AddSeconds(3));

        // The timer dies with the activation; only the reminder, kept by the reminder service, is left to deliver.
        await _cluster.Cluster.DeactivateAsync(dave);

        await Eventually.AssertAsync(() => Assert.Equal([id], users.Of<NotificationEvent>().Select(n => n.Entry.Id)), TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task Direct_messages_and_disconnects_go_out_on_the_users_stream()
    {
        var users = await _cluster.ReadUsersAsync();
        var erin = _cluster.Client.GetGrain<IUserGrain>("erin");

        await erin.SendAsync("frank", Json("psst"));
        await erin.DisconnectAsync("banned");

        await Eventually.AssertAsync(() =>
        {
            var direct = Assert.Single(users.Of<DirectEvent>());
            Assert.Equal(("erin", "frank"), (direct.User, direct.From));
            Assert.Equal(("erin", "banned"), Assert.Single(users.Of<DisconnectEvent>()) is var d ? (d.User, d.Reason) : default);
        });
    }
}
