using System.Security.Cryptography;
using System.Text;
using Realtime.Api.Sessions;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Sessions;

/// <summary>
/// Which way a socket is opened: plain upgrades are answered below the HTTP server (no <c>Server</c> header,
/// which Kestrel's HTTP layer adds to every response it writes); whatever that path declines is still upgraded,
/// by ASP.NET Core; and <c>Realtime:DirectUpgrade=false</c> turns the direct path off. Either way the socket
/// serves the same protocol. The rest of the suite runs through the direct path, since its clients send plain
/// upgrades.
/// </summary>
public sealed class DirectUpgradeTests
{
    [Fact]
    public async Task A_plain_upgrade_is_answered_below_the_HTTP_server_with_the_RFC_accept_key()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("alice")}");

        Assert.DoesNotContain("Server:", raw.Handshake, StringComparison.OrdinalIgnoreCase);
        var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(raw.Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        Assert.Contains($"Sec-WebSocket-Accept: {expected}\r\n", raw.Handshake, StringComparison.Ordinal);
        await AssertServesAsync(raw, "alice");
    }

    [Fact]
    public async Task An_upgrade_that_arrives_in_two_pieces_is_still_taken_directly()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("bob")}",
            pauseMidway: TimeSpan.FromMilliseconds(300));

        Assert.DoesNotContain("Server:", raw.Handshake, StringComparison.OrdinalIgnoreCase);
        await AssertServesAsync(raw, "bob");
    }

    [Theory]
    [InlineData("Content-Length: 0\r\n")]
    [InlineData("Upgrade: websocket\r\n")]
    public async Task An_upgrade_the_direct_path_declines_is_upgraded_by_ASP_NET_Core(string extraHeaders)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("carol")}", extraHeaders);

        Assert.Contains("Server: Kestrel", raw.Handshake, StringComparison.Ordinal);
        await AssertServesAsync(raw, "carol");
    }

    [Fact]
    public async Task With_DirectUpgrade_off_every_socket_is_opened_by_ASP_NET_Core()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:DirectUpgrade"] = "false" });
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("dave")}");

        Assert.Contains("Server: Kestrel", raw.Handshake, StringComparison.Ordinal);
        await AssertServesAsync(raw, "dave");
    }

    [Fact]
    public async Task A_foreign_Origin_is_refused_with_403_before_any_upgrade()
    {
        await using var server = await RealtimeServer.StartAsync();

        Assert.StartsWith("HTTP/1.1 403", await UpgradeStatusAsync(server, "Origin: https://evil.example\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_AllowedHosts_set_upgrades_take_the_HTTP_path_where_the_list_is_enforced()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["AllowedHosts"] = "realtime.example" });

        Assert.StartsWith("HTTP/1.1 400", await UpgradeStatusAsync(server, ""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_declined_after_it_arrived_in_pieces_still_reaches_ASP_NET_Core_whole()
    {
        await using var server = await RealtimeServer.StartAsync();

        // The direct path looked at the first half, asked for more, then declined: the HTTP server must still
        // see the request from its first byte.
        Assert.StartsWith("HTTP/1.1 403", await UpgradeStatusAsync(server, "Origin: https://evil.example\r\n", pauseMidway: true), StringComparison.Ordinal);
        var cookie = $"Cookie: session={new string('c', 2 * UpgradeRequest.MaxHeadBytes)}\r\n";
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("erin")}", cookie,
            pauseMidway: TimeSpan.FromMilliseconds(200));
        Assert.Contains("Server: Kestrel", raw.Handshake, StringComparison.Ordinal);
        await AssertServesAsync(raw, "erin");
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_after_Kestrels_keep_alive_timeout_and_does_not_hold_up_shutdown()
    {
        // A shutdown held up by the connection would wait out the host's shutdown timeout: five minutes here, far
        // past the polling deadline below.
        var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Kestrel:Limits:KeepAliveTimeout"] = "00:00:02" },
            services => services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(5)));
        await using (server)
        {
            using var idle = new System.Net.Sockets.TcpClient();
            await idle.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port);
            var read = await idle.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, read); // closed by the server, which nothing but the keep-alive timeout asks of it

            using var quiet = new System.Net.Sockets.TcpClient();
            await quiet.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port);
            await quiet.GetStream().WriteAsync("GET /w"u8.ToArray()); // and then nothing: a head that never completes
            await Task.Delay(200);
            await server.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public async Task A_client_that_resets_in_the_middle_of_its_head_costs_no_error_log()
    {
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        for (var i = 0; i < 5; i++)
        {
            using var tcp = new System.Net.Sockets.TcpClient { LingerState = new System.Net.Sockets.LingerOption(true, 0) };
            await tcp.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: {server.BaseUri.Authority}\r\nUpgr"));
            await Task.Delay(100);
            tcp.Client.Close(); // linger 0: a reset, not a FIN
        }

        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("frank")}");
        await AssertServesAsync(raw, "frank");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    // Sends an upgrade request with the server's own Host and returns the status line of the answer.
    private static async Task<string> UpgradeStatusAsync(RealtimeServer server, string extraHeaders, bool pauseMidway = false)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port);
        var stream = tcp.GetStream();
        await RawWebSocket.WriteUpgradeAsync(stream, server.BaseUri.Authority, "/ws", "dGhlIHNhbXBsZSBub25jZQ==", extraHeaders,
            pauseMidway ? TimeSpan.FromMilliseconds(200) : null);
        var response = new byte[4096];
        var read = await stream.ReadAsync(response).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.ASCII.GetString(response, 0, read).Split("\r\n")[0];
    }

    // The token from the query authenticated the socket as the user, and commands are answered.
    private static async Task AssertServesAsync(RawWebSocket raw, string user)
    {
        await raw.SendTextAsync("""{"id":7,"type":"ping"}""");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reply = await RawFrames.ReadAsync(raw.Stream, timeout.Token);
        Assert.NotNull(reply);
        Assert.Equal(RawFrame.Text, reply.Opcode);
        Assert.Contains("\"id\":7", reply.TextPayload, StringComparison.Ordinal);
        Assert.DoesNotContain("error", reply.TextPayload, StringComparison.Ordinal);
        await raw.SendTextAsync("""{"id":8,"type":"subscribe","channel":"chat:direct"}""");
        var subscribed = await RawFrames.ReadAsync(raw.Stream, timeout.Token);
        Assert.Contains("\"id\":8", subscribed!.TextPayload, StringComparison.Ordinal);
        Assert.DoesNotContain("error", subscribed.TextPayload, StringComparison.Ordinal);
        await raw.SendTextAsync("""{"id":9,"type":"presence","channel":"chat:direct"}""");
        RawFrame? presence;
        do
        {
            presence = await RawFrames.ReadAsync(raw.Stream, timeout.Token); // a join push may come first
        }
        while (presence is not null && !presence.TextPayload.Contains("\"id\":9", StringComparison.Ordinal));

        Assert.Contains($"\"{user}\"", presence!.TextPayload, StringComparison.Ordinal);
    }
}
