using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Sessions;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_the_node_tells_every_client_to_reconnect_and_closes_with_4010()
    {
        var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:bye" });
        await bob.CallAsync(new { type = "ping" });

        var stopping = server.DisposeAsync().AsTask();
        foreach (var client in new[] { alice, bob })
        {
            Assert.Equal(4010, (int?)await client.WaitClosedAsync());
            var disconnect = await client.NextPushAsync("disconnect");
            Assert.Equal(4010, disconnect.GetProperty("code").GetInt32());
            Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
        }

        await stopping.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_stopping_node_refuses_new_sockets_so_clients_reconnect_elsewhere()
    {
        var server = await RealtimeServer.StartAsync();
        await using var holder = await server.ConnectAsync("holder");
        await holder.CallAsync(new { type = "ping" });

        // Graceful shutdown waits for open sockets; meanwhile the node must not take new ones.
        await server.Services.GetRequiredService<Realtime.Api.Sessions.SessionRegistry>().StoppingAsync(CancellationToken.None);
        var refused = await Assert.ThrowsAnyAsync<System.Net.WebSockets.WebSocketException>(() => server.ConnectAsync("late"));
        Assert.Contains("503", refused.Message);
        using var ready = await server.Http.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_half_open_client_that_never_answers_pings_is_dropped_and_leaves_presence()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:KeepAliveInterval"] = "00:00:00.200",
            ["Realtime:Limits:KeepAliveTimeout"] = "00:00:00.500",
        });
        await using var watcher = await server.ConnectAsync("watcher");
        await watcher.CallAsync(new { type = "subscribe", channel = "chat:alive" });

        // Subscribes, then never reads again: its pings go unanswered, as with a vanished device.
        await using var silent = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("silent")}");
        await silent.SendTextAsync("""{"id":1,"type":"subscribe","channel":"chat:alive"}""");
        var join = await watcher.NextPushAsync("join");
        Assert.Equal("silent", join.GetProperty("user").GetString());

        var leave = await watcher.NextPushAsync("leave", TimeSpan.FromSeconds(10));
        Assert.Equal("silent", leave.GetProperty("user").GetString());
        await Eventually.TrueAsync(() => server.Services.GetRequiredService<Realtime.Grains.Diagnostics.RealtimeMetrics>().Connections == 1,
            "the silent connection was dropped");
    }
}
