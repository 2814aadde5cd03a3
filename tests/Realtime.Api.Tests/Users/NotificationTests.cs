using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Users;

public sealed class NotificationTests
{
    [Fact]
    public async Task A_rest_notification_reaches_all_three_devices_and_is_stored_unread_until_read()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var phone = await server.ConnectAsync("carol");
        await using var laptop = await server.ConnectAsync("carol");
        await using var tablet = await server.ConnectAsync("carol");
        await using var other = await server.ConnectAsync("dave");

        var stored = await server.PostAsync<JsonElement>("/api/users/carol/notifications", new { data = new { title = "hello" } });
        var id = stored.GetProperty("id").GetString();

        foreach (var device in new[] { phone, laptop, tablet })
        {
            var push = await device.NextPushAsync("notification");
            Assert.Equal(id, push.GetProperty("id").GetString());
            Assert.Equal("hello", push.GetProperty("data").GetProperty("title").GetString());
        }

        Assert.True(await other.NoPushAsync("notification", TimeSpan.FromMilliseconds(300)), "only carol's sockets get it");

        var inbox = await phone.CallAsync(new { type = "notifications", limit = 10, unread = true });
        Assert.Equal(1, inbox.GetProperty("unread").GetInt32());
        Assert.Equal(id, inbox.GetProperty("items")[0].GetProperty("id").GetString());
        Assert.False(inbox.GetProperty("items")[0].GetProperty("read").GetBoolean());

        var read = await laptop.CallAsync(new { type = "read", ids = new[] { id } });
        Assert.Equal(0, read.GetProperty("unread").GetInt32());
        var rest = await server.Http.GetFromJsonAsync<JsonElement>("/api/users/carol/notifications?unread=true");
        Assert.Equal(0, rest.GetProperty("unread").GetInt32());
        Assert.Empty(rest.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Notifications_listed_and_marked_read_over_rest_agree_with_what_a_socket_sees()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var phone = await server.ConnectAsync("judy");
        var first = (await server.PostAsync<JsonElement>("/api/users/judy/notifications", new { data = "first" })).GetProperty("id").GetString();
        var second = (await server.PostAsync<JsonElement>("/api/users/judy/notifications", new { data = "second" })).GetProperty("id").GetString();
        Assert.Equal(first, (await phone.NextPushAsync("notification")).GetProperty("id").GetString());
        Assert.Equal(second, (await phone.NextPushAsync("notification")).GetProperty("id").GetString());

        var listed = await server.Http.GetFromJsonAsync<JsonElement>("/api/users/judy/notifications");
        Assert.Equal(2, listed.GetProperty("unread").GetInt32());
        Assert.Equal([second, first], listed.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        // Marking one read (an unknown id alongside is ignored) answers the unread count after the change.
        using var read = await server.Http.PostAsJsonAsync("/api/users/judy/notifications/read", new { ids = new[] { first, "no-such-id" } });
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(1, (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("unread").GetInt32());

        var seen = await phone.CallAsync(new { type = "notifications" });
        Assert.Equal(1, seen.GetProperty("unread").GetInt32());
        Assert.Equal([(second, false), (first, true)],
            seen.GetProperty("items").EnumerateArray().Select(e => (e.GetProperty("id").GetString(), e.GetProperty("read").GetBoolean())));
        var unreadOnly = await phone.CallAsync(new { type = "notifications", unread = true });
        Assert.Equal([second], unreadOnly.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));

        // And the other way round: read over the socket, seen over REST.
        Assert.Equal(0, (await phone.CallAsync(new { type = "read", ids = new[] { second } })).GetProperty("unread").GetInt32());
        var after = await server.Http.GetFromJsonAsync<JsonElement>("/api/users/judy/notifications");
        Assert.Equal(0, after.GetProperty("unread").GetInt32());
        Assert.All(after.GetProperty("items").EnumerateArray(), e => Assert.True(e.GetProperty("read").GetBoolean()));
    }

    [Fact]
    public async Task An_offline_user_finds_notifications_in_the_inbox_newest_first()
    {
        await using var server = await RealtimeServer.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await server.PostAsync<JsonElement>("/api/users/erin/notifications", new { data = i })).GetProperty("id").GetString()!);
        }

        await using var erin = await server.ConnectAsync("erin");
        var inbox = await erin.CallAsync(new { type = "notifications" });
        Assert.Equal(3, inbox.GetProperty("unread").GetInt32());
        Assert.Equal(Enumerable.Reverse(ids), inbox.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Notifying_many_users_stores_one_per_user()
    {
        await using var server = await RealtimeServer.StartAsync();
        var result = await server.PostAsync<JsonElement>("/api/notifications", new { users = new[] { "u1", "u2" }, data = "x" });
        Assert.Equal(2, result.GetProperty("ids").GetArrayLength());
        var u2 = await server.Http.GetFromJsonAsync<JsonElement>("/api/users/u2/notifications");
        Assert.Equal(1, u2.GetProperty("unread").GetInt32());
    }

    [Fact]
    public async Task A_retried_notification_with_the_same_idempotency_key_is_stored_once()
    {
        await using var server = await RealtimeServer.StartAsync();
        var a = await server.PostAsync<JsonElement>("/api/users/frank/notifications", new { data = 1, idempotencyKey = "k1" });
        var b = await server.PostAsync<JsonElement>("/api/users/frank/notifications", new { data = 1, idempotencyKey = "k1" });
        Assert.Equal(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        var inbox = await server.Http.GetFromJsonAsync<JsonElement>("/api/users/frank/notifications");
        Assert.Single(inbox.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_scheduled_notification_is_hidden_until_its_time_then_pushed()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.100",
        });
        await using var gina = await server.ConnectAsync("gina");
        var deliverAt = DateTimeOffset.UtcNow.AddSeconds(1.5);
        var stored = await server.PostAsync<JsonElement>("/api/users/gina/notifications", new { data = "later", deliverAt });

        var early = await gina.CallAsync(new { type = "notifications" });
        Assert.Equal(0, early.GetProperty("unread").GetInt32());

        var push = await gina.NextPushAsync("notification", TimeSpan.FromSeconds(10));
        Assert.True(DateTimeOffset.UtcNow >= deliverAt.AddMilliseconds(-50), "not pushed before its time");
        Assert.Equal(stored.GetProperty("id").GetString(), push.GetProperty("id").GetString());
        Assert.True(await gina.NoPushAsync("notification", TimeSpan.FromMilliseconds(500)), "pushed once");
    }

    [Fact]
    public async Task Direct_messages_reach_every_device_of_the_user_from_a_socket_and_from_rest()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var bob1 = await server.ConnectAsync("bob");
        await using var bob2 = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice");

        await alice.CallAsync(new { type = "send", user = "bob", data = new { text = "psst" } });
        foreach (var device in new[] { bob1, bob2 })
        {
            var direct = await device.NextPushAsync("direct");
            Assert.Equal("alice", direct.GetProperty("from").GetString());
            Assert.Equal("psst", direct.GetProperty("data").GetProperty("text").GetString());
        }

        Assert.True(await alice.NoPushAsync("direct", TimeSpan.FromMilliseconds(200)));

        using var response = await server.Http.PostAsJsonAsync("/api/users/bob/messages", new { data = new { text = "from backend" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        foreach (var device in new[] { bob1, bob2 })
        {
            var direct = await device.NextPushAsync("direct");
            Assert.Equal(JsonValueKind.Null, direct.GetProperty("from").ValueKind);
            Assert.Equal("from backend", direct.GetProperty("data").GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task Rest_disconnect_closes_every_socket_of_the_user_with_4003()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var a = await server.ConnectAsync("hank");
        await using var b = await server.ConnectAsync("hank");
        await using var other = await server.ConnectAsync("ivy");
        await a.CallAsync(new { type = "ping" });
        await b.CallAsync(new { type = "ping" });

        using var response = await server.Http.PostAsJsonAsync("/api/users/hank/disconnect", new { reason = "banned" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(4003, (int?)await a.WaitClosedAsync());
        Assert.Equal(4003, (int?)await b.WaitClosedAsync());
        Assert.Equal("banned", (await a.NextPushAsync("disconnect")).GetProperty("reason").GetString());
        await other.CallAsync(new { type = "ping" });
    }
}
