using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Tests.Sessions;

/// <summary>
/// Every kind of bad input a client can send gets the answer SPEC §6 gives it: an error reply for a
/// bad command, a close code for a bad connection. Either way the node goes on serving everyone else.
/// </summary>
public sealed class BadInputTests
{
    private static readonly string LongChannel = "chat:" + new string('x', 196); // 201 characters

    /// <summary>A frame, and the id its error reply must carry (null: the reply has no id).</summary>
    public static TheoryData<string, long?> MalformedFrames => new()
    {
        { "", null },
        { "not json at all", null },
        { """{"type":"ping",""", null },
        { """{"id":7,"type":""", 7 },
        { """[{"id":7,"type":"ping"}]""", null },
        { "42", null },
        { "\"ping\"", null },
        { "null", null },
        { """{"id":7,"type":"ping"}{"id":8,"type":"ping"}""", 7 },
        { """{"id":7,"type":"dance"}""", 7 },
        { """{"id":7}""", 7 },
        { """{"id":7,"type":5}""", 7 },
        { """{"type":"ping"}""", null },
        { """{"id":"7","type":"ping"}""", null },
        { """{"id":7.5,"type":"ping"}""", null },
        { """{"id":99999999999999999999,"type":"ping"}""", null },
        { """{"id":7,"type":"subscribe"}""", 7 },
        { """{"id":7,"type":"subscribe","channel":5}""", 7 },
        { """{"id":7,"type":"subscribe","channel":""}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat room!"}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat:lobby:"}""", 7 },
        { $$"""{"id":7,"type":"subscribe","channel":"{{LongChannel}}"}""", 7 },
        { $$"""{"id":7,"type":"publish","channel":"{{LongChannel}}","data":1}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat:a","since":"e1:4"}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat:a","since":{"epoch":"e1"}}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat:a","since":{"epoch":"e1","offset":-1}}""", 7 },
        { """{"id":7,"type":"subscribe","channel":"chat:a","since":{"epoch":1,"offset":1}}""", 7 },
        { """{"id":7,"type":"unsubscribe"}""", 7 },
        { """{"id":7,"type":"unsubscribe","channel":5}""", 7 },
        { """{"id":7,"type":"unsubscribe","channel":"chat room!"}""", 7 },
        { $$"""{"id":7,"type":"unsubscribe","channel":"{{LongChannel}}"}""", 7 },
        { """{"id":7,"type":"presence"}""", 7 },
        { """{"id":7,"type":"presence","channel":null}""", 7 },
        { """{"id":7,"type":"presence","channel":""}""", 7 },
        { """{"id":7,"type":"presence","channel":"chat room!"}""", 7 },
        { $$"""{"id":7,"type":"presence","channel":"{{LongChannel}}"}""", 7 },
        { """{"id":7,"type":"ping","limit":"5"}""", 7 },
        { """{"id":7,"type":"ping","since":{"epoch":"e1"}}""", 7 },
        { """{"id":7,"type":"history","channel":"chat:a","limit":"5"}""", 7 },
        { """{"id":7,"type":"history","channel":"chat:a","limit":-1}""", 7 },
        { """{"id":7,"type":"history","channel":"chat:a","limit":1.5}""", 7 },
        { """{"id":7,"type":"history","channel":"chat:a","before":"x"}""", 7 },
        { """{"id":7,"type":"publish","channel":"chat:a"}""", 7 },
        { """{"id":7,"type":"publish","data":1}""", 7 },
        { $$"""{"id":7,"type":"publish","channel":"chat:a","data":{{new string('[', 64)}}{{new string(']', 64)}}}""", 7 },
        { """{"id":7,"type":"send","data":1}""", 7 },
        { """{"id":7,"type":"send","user":"","data":1}""", 7 },
        { """{"id":7,"type":"read"}""", 7 },
        { """{"id":7,"type":"read","ids":"n1"}""", 7 },
        { """{"id":7,"type":"read","ids":[1,2]}""", 7 },
        { """{"id":7,"type":"notifications","unread":"yes"}""", 7 },
        { """{"id":7,"type":"connect","token":5}""", 7 },
    };

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public async Task A_malformed_command_gets_bad_request_and_the_socket_keeps_answering(string frame, long? id)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");

        var reply = await ReplyToRawAsync(mallory, frame);

        var error = reply.GetProperty("error");
        Assert.Equal("bad_request", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(id, reply.TryGetProperty("id", out var replyId) ? replyId.GetInt64() : null);
        Assert.False(reply.TryGetProperty("result", out _));
        await mallory.CallAsync(new { type = "ping" });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task An_unknown_type_is_refused_with_the_commands_id_and_unknown_fields_are_ignored()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");

        var reply = await mallory.RequestAsync(new { type = "subscribe_all" });
        Assert.Equal("bad_request", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("subscribe_all", reply.GetProperty("error").GetProperty("message").GetString());

        // Clients may run ahead of servers: a field the server does not know is not an error.
        await mallory.CallAsync(new { type = "ping", trace = new { span = "a1", tags = new[] { 1, 2 } } });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_user_id_of_white_space_is_bad_request_on_the_socket_and_over_REST_and_costs_nothing_else()
    {
        // Found by the dispatcher's fuzzing: Orleans refuses a white-space grain key, which surfaced as an internal error.
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<ILoggerProvider>(logs));
        await using var mallory = await server.ConnectAsync("mallory");

        Assert.Equal("bad_request", await mallory.ErrorAsync(new { type = "send", user = "   ", data = 1 }));
        using var rest = await server.Http.PostAsync("/api/users/%20%20/notifications", new StringContent("""{"data":1}""", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, rest.StatusCode);

        await mallory.CallAsync(new { type = "ping" });
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("realtime.json")]
    public async Task A_binary_frame_on_a_json_socket_closes_it_with_1003_and_costs_nothing_else(string? subprotocol)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory", subprotocol: subprotocol);

        await mallory.SendAsync(Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}"""), WebSocketMessageType.Binary);

        Assert.Equal((WebSocketCloseStatus)1003, await mallory.WaitClosedAsync());
        Assert.Contains("realtime.msgpack", mallory.Socket.CloseStatusDescription);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_frame_of_exactly_MaxFrameBytes_is_answered_and_one_byte_more_closes_with_1009()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxFrameBytes"] = "4096" });
        await using var mallory = await server.ConnectAsync("mallory");

        var reply = await ReplyToRawAsync(mallory, PaddedPing(id: 1, bytes: 4096));
        Assert.Equal(1, reply.GetProperty("id").GetInt64());
        Assert.True(reply.TryGetProperty("result", out _), $"expected a result, got {reply}");

        await mallory.SendTextAsync(PaddedPing(id: 2, bytes: 4097));
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await mallory.WaitClosedAsync());
        Assert.DoesNotContain(mallory.Frames, f => f.TryGetProperty("id", out var id) && id.GetInt64() == 2);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_large_frame_far_over_the_limit_closes_with_1009()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxFrameBytes"] = "4096" });
        await using var mallory = await server.ConnectAsync("mallory");

        // The server stops reading at the limit; the rest of the frame must not wedge the close.
        var huge = $$"""{"id":1,"type":"publish","channel":"chat:a","data":"{{new string('x', 1024 * 1024)}}"}""";
        await mallory.SendTextAsync(huge);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await mallory.WaitClosedAsync());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Fragments_under_the_limit_are_reassembled_into_one_command()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxFrameBytes"] = "4096" });
        await using var mallory = await server.ConnectAsync("mallory");
        var bytes = Encoding.UTF8.GetBytes(PaddedPing(id: 1, bytes: 3000));

        await mallory.SendAsync(bytes[..1000], WebSocketMessageType.Text, endOfMessage: false);
        await mallory.SendAsync(bytes[1000..2000], WebSocketMessageType.Text, endOfMessage: false);
        await mallory.SendAsync(bytes[2000..], WebSocketMessageType.Text, endOfMessage: true);

        var reply = await mallory.NextPushAsync();
        Assert.Equal(1, reply.GetProperty("id").GetInt64());
        Assert.True(reply.TryGetProperty("result", out _), $"expected a result, got {reply}");
    }

    [Fact]
    public async Task Fragments_that_together_exceed_MaxFrameBytes_close_with_1009()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxFrameBytes"] = "4096" });
        await using var mallory = await server.ConnectAsync("mallory");
        var bytes = Encoding.UTF8.GetBytes(PaddedPing(id: 1, bytes: 9000));

        // Each fragment is under the limit; the message they make is not.
        await mallory.SendAsync(bytes[..3000], WebSocketMessageType.Text, endOfMessage: false);
        await mallory.SendAsync(bytes[3000..6000], WebSocketMessageType.Text, endOfMessage: false);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await mallory.WaitClosedAsync());
        Assert.Empty(mallory.Frames);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_text_frame_closes_with_1007()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");

        var prefix = Encoding.UTF8.GetBytes("""{"id":1,"type":"publish","channel":"chat:a","data":"x""");
        byte[] frame = [.. prefix, 0xC3, 0x28, 0xFF, (byte)'"', (byte)'}'];
        await mallory.SendAsync(frame, WebSocketMessageType.Text);

        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await mallory.WaitClosedAsync());
        await Witness.AssertNodeServesOthersAsync(server);
        var history = await ReadHistoryAsync(server, "chat:a");
        Assert.Equal(0, history.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_command_flood_gets_rate_limited_then_a_disconnect_push_and_close_4029()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "10",
            ["Realtime:Limits:CommandBurst"] = "20",
        });
        await using var mallory = await server.ConnectAsync("mallory");

        try
        {
            for (var i = 1; i <= 200; i++)
            {
                await mallory.SendTextAsync($$"""{"id":{{i}},"type":"ping"}""");
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or IOException)
        {
            // The server may close before the flood is fully sent.
        }

        Assert.Equal((WebSocketCloseStatus)4029, await mallory.WaitClosedAsync());
        var frames = mallory.Frames.ToArray();
        var answered = frames.Count(f => f.TryGetProperty("result", out _));
        var limited = frames.Count(f => f.TryGetProperty("error", out var e) && e.GetProperty("code").GetString() == "rate_limited");
        Assert.InRange(answered, 1, 40);
        Assert.True(limited > 0, "the client is told it is rate limited before it is closed");
        var disconnect = frames[^1];
        Assert.Equal("disconnect", disconnect.GetProperty("type").GetString());
        Assert.Equal(4029, disconnect.GetProperty("code").GetInt32());
        Assert.False(disconnect.GetProperty("reconnect").GetBoolean());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Commands_before_authentication_are_unauthorized_until_connect_brings_a_good_token()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var anonymous = await TestClient.ConnectAsync(server, token: null);

        Assert.Equal("unauthorized", await anonymous.ErrorAsync(new { type = "ping" }));
        Assert.Equal("unauthorized", await anonymous.ErrorAsync(new { type = "subscribe", channel = "chat:lobby" }));
        Assert.Equal("unauthorized", await anonymous.ErrorAsync(new { type = "publish", channel = "chat:lobby", data = "hi" }));
        Assert.Equal("unauthorized", await anonymous.ErrorAsync(new { type = "notifications" }));

        var connected = await anonymous.CallAsync(new { type = "connect", token = RealtimeServer.Token("alice") });
        Assert.Equal("alice", connected.GetProperty("user").GetString());
        await anonymous.CallAsync(new { type = "ping" });
        await anonymous.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
        await Witness.AssertNodeServesOthersAsync(server);
        Assert.Equal(0, (await ReadHistoryAsync(server, "chat:lobby")).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_subscribe_past_MaxSubscriptions_is_bad_request_until_one_is_given_up()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxSubscriptions"] = "3" });
        await using var alice = await server.ConnectAsync("alice");
        for (var i = 1; i <= 3; i++)
        {
            await alice.CallAsync(new { type = "subscribe", channel = $"chat:{i}" });
        }

        Assert.Equal("bad_request", await alice.ErrorAsync(new { type = "subscribe", channel = "chat:4" }));

        await alice.CallAsync(new { type = "unsubscribe", channel = "chat:1" });
        await alice.CallAsync(new { type = "subscribe", channel = "chat:4" });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_duplicate_subscribe_is_bad_request_and_the_first_subscription_delivers_once()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        Assert.Equal("bad_request", await alice.ErrorAsync(new { type = "subscribe", channel = "chat:lobby" }));

        await alice.CallAsync(new { type = "publish", channel = "chat:lobby", data = "once" });
        var message = await alice.NextPushAsync("message");
        Assert.Equal("once", message.GetProperty("data").GetString());
        Assert.True(await alice.NoPushAsync("message", TimeSpan.FromMilliseconds(300)), "one subscription, one delivery");
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_connection_past_MaxConnectionsPerUser_is_told_why_and_closed_with_4029()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxConnectionsPerUser"] = "2" });
        await using var first = await server.ConnectAsync("alice");
        await using var second = await server.ConnectAsync("alice");
        await first.CallAsync(new { type = "ping" });
        await second.CallAsync(new { type = "ping" });

        await using var third = await server.ConnectAsync("alice");
        var disconnect = await third.NextPushAsync("disconnect");
        Assert.Equal(4029, disconnect.GetProperty("code").GetInt32());
        Assert.Equal((WebSocketCloseStatus)4029, await third.WaitClosedAsync());

        // The two that were there keep working, and a freed slot can be taken again.
        await second.CallAsync(new { type = "ping" });
        var metrics = server.Services.GetRequiredService<RealtimeMetrics>();
        await first.DisposeAsync();
        await Eventually.TrueAsync(() => metrics.Connections == 1, "the first and third sockets are gone from the node");
        await using var again = await server.ConnectAsync("alice");
        await again.CallAsync(new { type = "ping" });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_restricted_namespace_refuses_every_action_to_a_token_without_a_matching_claim()
    {
        await using var server = await RealtimeServer.StartAsync(Restricted);
        await using var bob = await server.ConnectAsync("bob");
        await using var eve = await server.ConnectAsync("eve", ["team:8", "team:7x"]);

        foreach (var client in new[] { bob, eve })
        {
            Assert.Equal("forbidden", await client.ErrorAsync(new { type = "subscribe", channel = "team:7" }));
            Assert.Equal("forbidden", await client.ErrorAsync(new { type = "publish", channel = "team:7", data = "psst" }));
            Assert.Equal("forbidden", await client.ErrorAsync(new { type = "history", channel = "team:7" }));
            Assert.Equal("forbidden", await client.ErrorAsync(new { type = "presence", channel = "team:7" }));

            // Other namespaces stay open to any signed-in user.
            await client.CallAsync(new { type = "publish", channel = "chat:lobby", data = "hi" });
        }

        Assert.Equal(0, (await ReadHistoryAsync(server, "team:7")).GetProperty("offset").GetInt64());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData("team:7")]
    [InlineData("team:*")]
    public async Task A_restricted_namespace_allows_a_token_whose_channels_claim_matches(string claim)
    {
        await using var server = await RealtimeServer.StartAsync(Restricted);
        await using var alice = await server.ConnectAsync("alice", [claim]);

        await alice.CallAsync(new { type = "subscribe", channel = "team:7" });
        var ack = await alice.CallAsync(new { type = "publish", channel = "team:7", data = "standup at 10" });
        Assert.Equal(1, ack.GetProperty("offset").GetInt64());
        Assert.Equal("standup at 10", (await alice.NextPushAsync("message")).GetProperty("data").GetString());
        var history = await alice.CallAsync(new { type = "history", channel = "team:7" });
        Assert.Single(history.GetProperty("messages").EnumerateArray());
        var presence = await alice.CallAsync(new { type = "presence", channel = "team:7" });
        Assert.Equal(1, presence.GetProperty("users").GetInt32());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_namespace_without_client_publish_refuses_socket_publishes_but_takes_rest_ones()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Namespaces:announce:ClientPublish"] = "false",
        });
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "announce:all" });

        Assert.Equal("forbidden", await alice.ErrorAsync(new { type = "publish", channel = "announce:all", data = "from a client" }));

        var published = await server.PostAsync<JsonElement>("/api/channels/announce:all/messages", new { data = "from the backend" });
        Assert.Equal(1, published.GetProperty("offset").GetInt64());
        var message = await alice.NextPushAsync("message");
        Assert.Equal("from the backend", message.GetProperty("data").GetString());
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Publish_data_over_MaxMessageBytes_is_too_large_and_nothing_is_stored()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:MaxMessageBytes"] = "64",
            ["Realtime:Limits:MaxFrameBytes"] = "4096",
        });
        await using var alice = await server.ConnectAsync("alice");

        Assert.Equal("too_large", await alice.ErrorAsync(new { type = "publish", channel = "chat:a", data = new string('x', 200) }));
        Assert.Equal("too_large", await alice.ErrorAsync(new { type = "send", user = "bob", data = new string('x', 200) }));

        var ack = await alice.CallAsync(new { type = "publish", channel = "chat:a", data = "small" });
        Assert.Equal(1, ack.GetProperty("offset").GetInt64());
        await Witness.AssertNodeServesOthersAsync(server);
    }

    private static Dictionary<string, string?> Restricted => new() { ["Realtime:Namespaces:team:Restricted"] = "true" };

    private static async Task<JsonElement> ReplyToRawAsync(TestClient client, string frame)
    {
        // A raw frame's reply is not matched to a pending call, so it arrives with the pushes.
        await client.SendTextAsync(frame);
        return await client.NextPushAsync();
    }

    /// <summary>A ping command padded with an unknown field to exactly <paramref name="bytes"/> UTF-8 bytes.</summary>
    private static string PaddedPing(long id, int bytes)
    {
        var empty = $$"""{"id":{{id}},"type":"ping","pad":""}""";
        return empty.Insert(empty.Length - 2, new string('x', bytes - empty.Length));
    }

    private static async Task<JsonElement> ReadHistoryAsync(RealtimeServer server, string channel)
    {
        using var response = await server.Http.GetAsync($"/api/channels/{channel}/history");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
