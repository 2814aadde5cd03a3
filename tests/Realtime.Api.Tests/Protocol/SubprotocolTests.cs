using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Protocol;

/// <summary>
/// The <c>realtime.msgpack</c> subprotocol over both upgrade paths (the direct one below ASP.NET Core, and ASP.NET
/// Core's WebSocket middleware): every command and push, in rooms where JSON and MessagePack sockets mix; the
/// refusals of a subprotocol the server does not speak and of the other kind of frame.
/// </summary>
public sealed class SubprotocolTests
{
    private const string MessagePack = "realtime.msgpack";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_command_and_push_works_over_MessagePack_beside_a_json_socket(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:DirectUpgrade"] = directUpgrade.ToString() });
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", subprotocol: MessagePack);
        Assert.Equal(MessagePack, alice.Socket.SubProtocol);

        var connected = await alice.CallAsync(new { type = "connect" });
        Assert.Equal("alice", connected.GetProperty("user").GetString());
        await bob.CallAsync(new { type = "subscribe", channel = "chat:mixed" });
        var subscribed = await alice.CallAsync(new { type = "subscribe", channel = "chat:mixed" });
        Assert.Equal(0, subscribed.GetProperty("offset").GetInt64());
        var join = await bob.NextPushAsync("join");
        Assert.Equal("alice", join.GetProperty("user").GetString());

        // Data written as MessagePack reaches the JSON socket as the same JSON value, and the other way round.
        var fromAlice = JsonSerializer.SerializeToElement(new { text = "hé \"quoted\" 😀", n = new object[] { 1, -2, 2.5, long.MaxValue }, ok = true, none = (string?)null });
        var fromBob = JsonSerializer.SerializeToElement(new { text = "from json", nested = new { deep = new[] { new { x = 1 } } } });
        await alice.CallAsync(new { type = "publish", channel = "chat:mixed", data = fromAlice });
        await bob.CallAsync(new { type = "publish", channel = "chat:mixed", data = fromBob });

        foreach (var client in new[] { alice, bob })
        {
            var messages = await client.MessagesAsync(2);
            Assert.Equal([1L, 2L], messages.Select(m => m.GetProperty("offset").GetInt64()));
            Assert.Equal(["alice", "bob"], messages.Select(m => m.GetProperty("from").GetString()));
            Assert.True(JsonElement.DeepEquals(fromAlice, messages[0].GetProperty("data")), $"{messages[0]}");
            Assert.True(JsonElement.DeepEquals(fromBob, messages[1].GetProperty("data")), $"{messages[1]}");
        }

        var history = await alice.CallAsync(new { type = "history", channel = "chat:mixed", limit = 10 });
        Assert.Equal([1L, 2L], history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()));
        var presence = await alice.CallAsync(new { type = "presence", channel = "chat:mixed" });
        Assert.Equal(["alice", "bob"], presence.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("user").GetString()).Order());
        await alice.CallAsync(new { type = "ping" });

        // Direct messages and notifications, from a socket and from REST.
        await bob.CallAsync(new { type = "send", user = "alice", data = new { hello = "alice" } });
        var direct = await alice.NextPushAsync("direct");
        Assert.Equal(("bob", "alice"), (direct.GetProperty("from").GetString(), direct.GetProperty("data").GetProperty("hello").GetString()));
        var notified = await server.PostAsync<JsonElement>("/api/users/alice/notifications", new { data = new { due = 3 } });
        var notification = await alice.NextPushAsync("notification");
        Assert.Equal(notified.GetProperty("id").GetString(), notification.GetProperty("id").GetString());
        var unread = await alice.CallAsync(new { type = "notifications", unread = true });
        Assert.Equal(3, unread.GetProperty("items")[0].GetProperty("data").GetProperty("due").GetInt32());
        await alice.CallAsync(new { type = "read", ids = new[] { notified.GetProperty("id").GetString() } });

        // Errors are MessagePack maps too.
        await alice.SendTextAsync("""{"id":99,"type":"subscribe","channel":5}""");
        var error = await alice.NextPushAsync();
        Assert.Equal("bad_request", error.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(99, error.GetProperty("id").GetInt64());

        await alice.CallAsync(new { type = "unsubscribe", channel = "chat:mixed" });
        Assert.Equal("alice", (await bob.NextPushAsync("leave")).GetProperty("user").GetString());

        // The last push, then the close.
        (await server.Http.PostAsJsonAsync("/api/users/alice/disconnect", new { reason = "maintenance" })).EnsureSuccessStatusCode();
        var disconnect = await alice.NextPushAsync("disconnect");
        Assert.Equal(4003, disconnect.GetProperty("code").GetInt32());
        Assert.Equal((WebSocketCloseStatus)4003, await alice.WaitClosedAsync());

        Assert.Equal(0, alice.TextFrames);
        Assert.Equal(0, bob.BinaryFrames);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_subprotocol_the_server_does_not_speak_is_refused_with_400_before_the_upgrade(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:DirectUpgrade"] = directUpgrade.ToString() });

        var response = await RawResponseAsync(server, "Sec-WebSocket-Protocol: realtime.xml, mqtt\r\n");

        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.Contains("unknown subprotocol 'realtime.xml, mqtt'", response);
        Assert.Contains("realtime.msgpack", response);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_first_subprotocol_the_server_speaks_is_chosen_in_the_clients_order(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:DirectUpgrade"] = directUpgrade.ToString() });

        var response = await RawResponseAsync(server, "Sec-WebSocket-Protocol: mqtt, realtime.msgpack, realtime.json\r\n");

        Assert.StartsWith("HTTP/1.1 101", response);
        Assert.Contains("Sec-WebSocket-Protocol: realtime.msgpack", response, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_text_frame_on_a_MessagePack_socket_closes_it_with_1003_and_costs_nothing_else()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory", subprotocol: MessagePack);

        await mallory.SendAsync(Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}"""), WebSocketMessageType.Text);

        Assert.Equal((WebSocketCloseStatus)1003, await mallory.WaitClosedAsync());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_truncated_map_or_a_wrong_type_gets_bad_request_and_the_socket_keeps_answering()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory", subprotocol: MessagePack);
        var whole = global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":7,"type":"publish","channel":"chat:a","data":{"text":"hello"}}""");

        await mallory.SendAsync(whole[..^3], WebSocketMessageType.Binary);
        var truncated = await mallory.NextPushAsync();
        Assert.Equal("bad_request", truncated.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(7, truncated.GetProperty("id").GetInt64());
        Assert.StartsWith("malformed MessagePack", truncated.GetProperty("error").GetProperty("message").GetString());

        await mallory.SendAsync(global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":8,"type":"history","channel":"chat:a","limit":"ten"}"""), WebSocketMessageType.Binary);
        var wrongType = await mallory.NextPushAsync();
        Assert.Equal(8, wrongType.GetProperty("id").GetInt64());
        Assert.Contains("limit", wrongType.GetProperty("error").GetProperty("message").GetString());

        await mallory.SendAsync([0xc4, 0x02, 0x01, 0x02], WebSocketMessageType.Binary); // bin 8, not a map
        Assert.Equal("a frame must be one MessagePack map", (await mallory.NextPushAsync()).GetProperty("error").GetProperty("message").GetString());

        await mallory.CallAsync(new { type = "ping" });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Data_holding_a_lone_surrogate_is_refused_over_the_socket_and_REST_and_MessagePack_sockets_are_unharmed()
    {
        // Valid JSON, but no text once unescaped: passed on as it was, it would fail the MessagePack conversion of the
        // push for every realtime.msgpack subscriber.
        await using var server = await RealtimeServer.StartAsync();
        await using var packed = await server.ConnectAsync("packed", subprotocol: MessagePack);
        await using var mallory = await server.ConnectAsync("mallory");
        await packed.CallAsync(new { type = "subscribe", channel = "chat:text" });

        await mallory.SendTextAsync("""{"id":1,"type":"publish","channel":"chat:text","data":{"note":"\ud800"}}""");
        var refused = await mallory.NextPushAsync();
        Assert.Equal((1, "bad_request"), (refused.GetProperty("id").GetInt32(), refused.GetProperty("error").GetProperty("code").GetString()));

        using var rest = await server.Http.PostAsync("/api/channels/chat:text/messages",
            new StringContent("""{"data":{"\udc00":1}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);

        await mallory.CallAsync(new { type = "publish", channel = "chat:text", data = new { note = "fine" } });
        var message = (await packed.MessagesAsync(1))[0];
        Assert.Equal("fine", message.GetProperty("data").GetProperty("note").GetString());
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
    }

    // The same refusals seen on the wire, from a client no library would be: the exact frames both ways.
    [Fact]
    public async Task Over_raw_tcp_a_MessagePack_socket_answers_in_binary_frames_and_closes_a_text_frame_with_1003()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:CloseTimeout"] = "00:00:01" });
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}",
            "Sec-WebSocket-Protocol: realtime.msgpack\r\n");
        Assert.Contains("Sec-WebSocket-Protocol: realtime.msgpack", raw.Handshake, StringComparison.OrdinalIgnoreCase);

        var ping = global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":1,"type":"ping"}""");
        await raw.SendFrameAsync(RawFrame.Binary, ping);
        Assert.Equal("""{"id":1,"result":{}}""", ToJson(await NextDataFrameAsync(raw, RawFrame.Binary)));

        var truncated = global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":2,"type":"subscribe","channel":"chat:raw"}""")[..^4];
        await raw.SendFrameAsync(RawFrame.Binary, truncated);
        Assert.StartsWith("""{"id":2,"error":{"code":"bad_request","message":"malformed MessagePack""", ToJson(await NextDataFrameAsync(raw, RawFrame.Binary)));

        var wrongType = global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":3,"type":"history","channel":"chat:raw","before":"yesterday"}""");
        await raw.SendFrameAsync(RawFrame.Binary, wrongType);
        Assert.StartsWith("""{"id":3,"error":{"code":"bad_request""", ToJson(await NextDataFrameAsync(raw, RawFrame.Binary)));

        await raw.SendTextAsync("""{"id":4,"type":"ping"}""");
        var ending = await RawFrames.ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(20));
        Assert.Equal(1003, ending.CloseCode);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Over_raw_tcp_a_binary_frame_on_a_json_socket_closes_it_with_1003()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:CloseTimeout"] = "00:00:01" });
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}");

        await raw.SendFrameAsync(RawFrame.Binary, global::MessagePack.MessagePackSerializer.ConvertFromJson("""{"id":1,"type":"ping"}"""));

        var ending = await RawFrames.ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(20));
        Assert.Equal(1003, ending.CloseCode);
        Assert.Contains("realtime.msgpack", ending.CloseReason);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    private static string ToJson(RawFrame frame) => global::MessagePack.MessagePackSerializer.ConvertToJson(frame.Payload);

    private static async Task<RawFrame> NextDataFrameAsync(RawWebSocket raw, byte opcode)
    {
        using var timeout = new CancellationTokenSource(TestClient.Timeout);
        while (true)
        {
            var frame = await RawFrames.ReadAsync(raw.Stream, timeout.Token) ?? throw new WebSocketException("the server closed the connection");
            if (frame.Opcode is RawFrame.Text or RawFrame.Binary)
            {
                Assert.Equal(opcode, frame.Opcode);
                return frame;
            }
        }
    }

    // The server's answer to an upgrade request with the given extra headers: status line, headers and body.
    internal static async Task<string> RawResponseAsync(RealtimeServer server, string extraHeaders)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseUri.Port);
        var stream = tcp.GetStream();
        await RawWebSocket.WriteUpgradeAsync(stream, server.BaseUri.Authority, "/ws?token=" + RealtimeServer.Token("raw"), "dGhlIHNhbXBsZSBub25jZQ==", extraHeaders);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TestClient.Timeout);
        while (true)
        {
            var text = Encoding.ASCII.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && (text.StartsWith("HTTP/1.1 101", StringComparison.Ordinal) || HasWholeBody(text, end)))
            {
                return text;
            }

            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                return text;
            }

            received.Write(buffer, 0, read);
        }

        static bool HasWholeBody(string text, int endOfHead)
        {
            var headers = text[..endOfHead].Split("\r\n");
            var length = headers.FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            return length is not null
                ? text.Length - endOfHead - 4 >= int.Parse(length["Content-Length:".Length..].Trim())
                : text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal); // chunked: the last chunk is empty
        }
    }
}
