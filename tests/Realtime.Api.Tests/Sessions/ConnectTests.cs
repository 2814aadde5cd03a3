using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Tests.Sessions;

/// <summary>Opening a socket at <c>/ws</c>: the Origin check before the upgrade, and the <c>connect</c> and <c>ping</c> commands.</summary>
public sealed class ConnectTests
{
    private const string ListedOrigin = "https://app.example.com";

    [Fact]
    public async Task A_foreign_origin_gets_403_before_the_upgrade_and_no_session_is_opened()
    {
        await using var server = await RealtimeServer.StartAsync();

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeStatusAsync(server, "https://evil.example.com"));
        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeStatusAsync(server, $"http://{server.BaseUri.Host}:1")); // same host, other port

        using var response = await SendUpgradeAsync(server, "https://evil.example.com");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        await AssertProblemAsync(response, 403);
        Assert.Equal(0, server.Services.GetRequiredService<RealtimeMetrics>().Connections);
    }

    [Fact]
    public async Task The_servers_own_origin_is_accepted()
    {
        await using var server = await RealtimeServer.StartAsync();
        var own = server.BaseUri.GetLeftPart(UriPartial.Authority);

        await using var client = await TestClient.ConnectAsync(server, RealtimeServer.Token("alice"), origin: own);

        Assert.Equal("alice", (await client.CallAsync(new { type = "connect" })).GetProperty("user").GetString());
    }

    [Fact]
    public async Task A_listed_origin_is_accepted_and_an_unlisted_one_is_not()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:AllowedOrigins:0"] = ListedOrigin,
            ["Realtime:AllowedOrigins:1"] = "https://admin.example.com/",
        });

        await using var app = await TestClient.ConnectAsync(server, RealtimeServer.Token("alice"), origin: ListedOrigin);
        await app.CallAsync(new { type = "ping" });
        await using var admin = await TestClient.ConnectAsync(server, RealtimeServer.Token("root"), origin: "https://admin.example.com");
        await admin.CallAsync(new { type = "ping" });

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeStatusAsync(server, "https://app.example.com.evil.net"));
        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeStatusAsync(server, "http://app.example.com"));
    }

    [Fact]
    public async Task A_client_that_sends_no_origin_is_accepted()
    {
        await using var server = await RealtimeServer.StartAsync();

        await using var client = await TestClient.ConnectAsync(server, RealtimeServer.Token("alice"), origin: null);

        await client.CallAsync(new { type = "ping" });
    }

    [Fact]
    public async Task A_plain_get_on_ws_without_an_upgrade_is_400_with_problem_details()
    {
        await using var server = await RealtimeServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.GetAsync("/ws");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
    }

    [Fact]
    public async Task Connect_as_the_first_frame_returns_the_client_user_and_node()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server, token: null);

        var connected = await client.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice") });

        Assert.Equal("alice", connected.GetProperty("user").GetString());
        Assert.Equal("node-a", connected.GetProperty("node").GetString());
        Assert.Matches("^[0-9a-f]{16}$", connected.GetProperty("client").GetString());
        await client.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
    }

    [Fact]
    public async Task Each_socket_gets_its_own_client_id()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var phone = await server.ConnectAsync("alice");
        await using var laptop = await server.ConnectAsync("alice");

        var a = (await phone.CallAsync(new { type = "connect" })).GetProperty("client").GetString();
        var b = (await laptop.CallAsync(new { type = "connect" })).GetProperty("client").GetString();

        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task Ping_returns_an_empty_result()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");

        var reply = await client.RequestAsync(new { type = "ping" });

        Assert.Equal(["id", "result"], reply.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Object, reply.GetProperty("result").ValueKind);
        Assert.Empty(reply.GetProperty("result").EnumerateObject());
    }

    [Fact]
    public async Task Connect_with_a_new_token_for_the_same_user_refreshes_the_session()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");
        var before = await client.CallAsync(new { type = "connect" });
        await client.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        var refreshed = await client.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice", lifetime: TimeSpan.FromHours(2)) });

        Assert.Equal("alice", refreshed.GetProperty("user").GetString());
        Assert.Equal(before.GetProperty("client").GetString(), refreshed.GetProperty("client").GetString());
        await client.CallAsync(new { type = "publish", channel = "chat:lobby", data = "still here" });
        Assert.Equal("still here", (await client.NextPushAsync("message")).GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_refreshed_token_grants_the_channels_it_claims()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:team:Restricted"] = "true" });
        await using var client = await server.ConnectAsync("alice");
        Assert.Equal("forbidden", await client.ErrorAsync(new { type = "subscribe", channel = "team:7" }));

        await client.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice", ["team:7"]) });

        await client.CallAsync(new { type = "subscribe", channel = "team:7" });
    }

    [Fact]
    public async Task Connect_with_a_token_for_another_user_is_bad_request_and_the_session_stays_as_it_was()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");

        Assert.Equal("bad_request", await client.ErrorAsync(new { type = "connect", token = RealtimeServer.Token("mallory") }));

        Assert.Equal("alice", (await client.CallAsync(new { type = "connect" })).GetProperty("user").GetString());
        await client.CallAsync(new { type = "ping" });
    }

    /// <summary>Tries an upgrade with <paramref name="origin"/>; it must fail, and the HTTP status of the refusal is returned.</summary>
    private static async Task<HttpStatusCode> RefusedUpgradeStatusAsync(RealtimeServer server, string origin)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", origin);
        using var cts = new CancellationTokenSource(TestClient.Timeout);

        await Assert.ThrowsAsync<WebSocketException>(() =>
            socket.ConnectAsync(new Uri($"{server.WebSocketUri}?token={RealtimeServer.Token("alice")}"), cts.Token));

        return socket.HttpStatusCode;
    }

    /// <summary>A hand-made upgrade request, to read the body of a refusal (ClientWebSocket does not expose it).</summary>
    private static async Task<HttpResponseMessage> SendUpgradeAsync(RealtimeServer server, string origin)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/ws?token={RealtimeServer.Token("alice")}");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
        request.Headers.Add("Origin", origin);
        return await http.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.True(problem.RootElement.TryGetProperty("title", out _));
    }
}
