using System.Net.WebSockets;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Auth;

public sealed class TokenTests
{
    public static TheoryData<string, string> BadTokens()
    {
        var hour = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        return new TheoryData<string, string>
        {
            { "malformed", "not-a-jwt" },
            { "two parts", "abc.def" },
            { "bad base64", "%%%.%%%.%%%" },
            { "expired", Jwt.Sign(RealtimeServer.Secret, "alice", DateTimeOffset.UtcNow.AddMinutes(-1)) },
            { "wrong key", Jwt.Sign("another-secret-0123456789-0123456789-xyz", "alice", DateTimeOffset.UtcNow.AddHours(1)) },
            { "alg none", Jwt.Unsigned($$"""{"sub":"alice","exp":{{hour}}}""") },
            { "alg HS512", Jwt.SignHs512(RealtimeServer.Secret, $$"""{"sub":"alice","exp":{{hour}}}""") },
            { "no exp", Jwt.SignPayload(RealtimeServer.Secret, """{"sub":"alice"}""") },
            { "no sub", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"exp":{{hour}}}""") },
            { "empty sub", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"sub":"","exp":{{hour}}}""") },
            { "white-space sub", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"sub":"  ","exp":{{hour}}}""") },
            { "channels not an array", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"sub":"alice","exp":{{hour}},"channels":"team:*"}""") },
            { "crit header", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"sub":"alice","exp":{{hour}},"x":1}""", new Dictionary<string, object> { ["crit"] = new[] { "x" } }) },
            { "not yet valid", Jwt.SignPayload(RealtimeServer.Secret, $$"""{"sub":"alice","exp":{{hour}},"nbf":{{hour - 60}}}""") },
        };
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_in_the_query_closes_the_socket_with_4001(string why, string token)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server, token);
        Assert.True(4001 == (int?)await client.WaitClosedAsync(), why);
        var disconnect = await client.NextPushAsync("disconnect");
        Assert.Equal(4001, disconnect.GetProperty("code").GetInt32());

        await using var good = await server.ConnectAsync("bob");
        await good.CallAsync(new { type = "ping" });
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_in_the_connect_frame_closes_the_socket_with_4001(string why, string token)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server, token: null);
        await client.SendTextAsync($$"""{"id":1,"type":"connect","token":"{{token}}"}""");
        Assert.True(4001 == (int?)await client.WaitClosedAsync(), why);
    }

    [Fact]
    public async Task A_connect_frame_without_a_token_closes_with_4001()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server, token: null);
        await client.SendTextAsync("""{"id":1,"type":"connect"}""");
        Assert.Equal(4001, (int?)await client.WaitClosedAsync());
    }

    [Fact]
    public async Task A_token_in_the_first_frame_authenticates()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server, token: null);
        var connected = await client.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice") });
        Assert.Equal("alice", connected.GetProperty("user").GetString());
        Assert.Equal("node-a", connected.GetProperty("node").GetString());
        Assert.False(string.IsNullOrEmpty(connected.GetProperty("client").GetString()));
    }

    [Fact]
    public async Task No_token_within_the_handshake_timeout_closes_with_4001()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:HandshakeTimeout"] = "00:00:00.500",
        });
        await using var client = await TestClient.ConnectAsync(server, token: null);
        Assert.Equal(4001, (int?)await client.WaitClosedAsync(TimeSpan.FromSeconds(30)));
        var disconnect = await client.NextPushAsync("disconnect");
        Assert.Equal("no token within the handshake timeout", disconnect.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_token_that_expires_during_the_session_closes_it_with_4001_and_asks_to_reconnect()
    {
        await using var server = await RealtimeServer.StartAsync();
        // exp is whole seconds (floored), so this token lives 3-4 s: room for a cold connect on a busy machine.
        var token = Jwt.Sign(RealtimeServer.Secret, "alice", DateTimeOffset.UtcNow.AddSeconds(4));
        await using var client = await TestClient.ConnectAsync(server, token);
        await client.CallAsync(new { type = "ping" });
        Assert.Equal(4001, (int?)await client.WaitClosedAsync(TimeSpan.FromSeconds(10)));
        var disconnect = await client.NextPushAsync("disconnect");
        Assert.Equal("token expired", disconnect.GetProperty("reason").GetString());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
    }

    [Fact]
    public async Task A_refreshed_token_keeps_the_session_past_the_first_tokens_expiry()
    {
        await using var server = await RealtimeServer.StartAsync();
        var shortLived = Jwt.Sign(RealtimeServer.Secret, "alice", DateTimeOffset.UtcNow.AddSeconds(4));
        await using var client = await TestClient.ConnectAsync(server, shortLived);
        await client.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice") });
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        await client.CallAsync(new { type = "ping" });
    }
}
