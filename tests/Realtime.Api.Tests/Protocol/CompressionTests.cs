using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Protocol;

/// <summary>
/// permessage-deflate (RFC 7692) over plain TCP, where the RSV1 bit of every frame can be seen and set: agreed when
/// the client offers it and <c>Realtime:Compression:Enabled</c> is on, on both upgrade paths; compressed frames both
/// ways, small frames left as they are; a frame that inflates past <c>MaxFrameBytes</c> closed with 1009; RSV1 on a
/// socket that agreed to nothing closed with 1002.
/// </summary>
public sealed class CompressionTests
{
    private const string Offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(20);

    private static Dictionary<string, string?> Settings(bool directUpgrade, bool compression = true) => new()
    {
        ["Realtime:DirectUpgrade"] = directUpgrade.ToString(),
        ["Realtime:Compression:Enabled"] = compression.ToString(),
        ["Realtime:Limits:MaxFrameBytes"] = "4096",
        ["Realtime:Limits:CloseTimeout"] = "00:00:01",
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Frames_are_compressed_both_ways_once_agreed_and_small_ones_go_as_they_are(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(Settings(directUpgrade));
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("alice")}", Offer);
        var agreed = raw.Handshake.Split("\r\n").Single(h => h.StartsWith("Sec-WebSocket-Extensions:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("permessage-deflate", agreed);
        Assert.Contains("server_no_context_takeover", agreed);
        if (directUpgrade)
        {
            Assert.Contains("client_no_context_takeover", agreed); // ASP.NET Core's path leaves that to the client
        }

        await raw.SendFrameAsync(RawFrame.Text, Deflate("""{"id":1,"type":"subscribe","channel":"chat:zip"}"""), compressed: true);
        var reply = await NextFrameAsync(raw);
        Assert.False(reply.Compressed, "a reply under MinBytes (256) goes uncompressed");
        Assert.Equal(1, JsonDocument.Parse(reply.Payload).RootElement.GetProperty("id").GetInt32());

        // A typical chat message of about 500 bytes, published compressed and pushed back compressed.
        var text = string.Join(' ', Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? "hello" : i % 3 == 1 ? "everyone" : "in the room"));
        await raw.SendFrameAsync(RawFrame.Text, Deflate(JsonSerializer.Serialize(new { id = 2, type = "publish", channel = "chat:zip", data = new { text } })), compressed: true);
        var frames = new List<RawFrame> { await NextFrameAsync(raw), await NextFrameAsync(raw) };
        var push = frames.Single(f => f.Compressed);
        var inflated = Inflate(push.Payload);
        var message = JsonDocument.Parse(inflated).RootElement;
        Assert.Equal(("message", text), (message.GetProperty("type").GetString(), message.GetProperty("data").GetProperty("text").GetString()));
        Assert.True(push.Payload.Length < inflated.Length, $"{push.Payload.Length} bytes on the wire for {inflated.Length}");
        Assert.Equal(2, JsonDocument.Parse(frames.Single(f => !f.Compressed).Payload).RootElement.GetProperty("id").GetInt32());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_small_frame_that_inflates_past_MaxFrameBytes_closes_with_1009_and_costs_nothing_else(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(Settings(directUpgrade));
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}", Offer);

        // A megabyte of spaces inside a string: about a kilobyte on the wire.
        var bomb = Deflate("{\"id\":1,\"type\":\"ping\",\"pad\":\"" + new string(' ', 1024 * 1024) + "\"}");
        Assert.InRange(bomb.Length, 1, 4096);
        await raw.SendFrameAsync(RawFrame.Text, bomb, compressed: true);

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(1009, ending.CloseCode);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(true, false)] // compression off: nothing can be agreed
    [InlineData(false, false)]
    [InlineData(true, true)]  // compression on, but this client did not offer it
    [InlineData(false, true)]
    public async Task A_compressed_frame_on_a_socket_that_agreed_no_compression_closes_with_1002(bool directUpgrade, bool compression)
    {
        await using var server = await RealtimeServer.StartAsync(Settings(directUpgrade, compression));
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}",
            compression ? "" : Offer);
        Assert.DoesNotContain("permessage-deflate", raw.Handshake);

        await raw.SendFrameAsync(RawFrame.Text, Deflate("""{"id":1,"type":"ping"}"""), compressed: true);

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(1002, ending.CloseCode);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_compressed_header_declaring_more_than_MaxFrameBytes_closes_with_1009_though_no_payload_follows(bool directUpgrade)
    {
        await using var server = await RealtimeServer.StartAsync(Settings(directUpgrade));
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}", Offer);

        await raw.Stream.WriteAsync(RawFrames.Header(RawFrame.Text, 1UL << 30, fin: true, RawFrames.NewMaskKey(), reserved: 0x40));

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(1009, ending.CloseCode);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_library_client_that_offers_deflate_gets_every_push_in_either_format()
    {
        await using var server = await RealtimeServer.StartAsync(Settings(directUpgrade: true));
        await using var json = await server.ConnectAsync("bob", deflate: true);
        await using var packed = await server.ConnectAsync("alice", subprotocol: "realtime.msgpack", deflate: true);
        await json.CallAsync(new { type = "subscribe", channel = "chat:zip" });
        await packed.CallAsync(new { type = "subscribe", channel = "chat:zip" });

        var text = new string('x', 2000);
        await json.CallAsync(new { type = "publish", channel = "chat:zip", data = new { text } });

        Assert.Equal(text, (await json.MessagesAsync(1))[0].GetProperty("data").GetProperty("text").GetString());
        Assert.Equal(text, (await packed.MessagesAsync(1))[0].GetProperty("data").GetProperty("text").GetString());
    }

    // A message as a permessage-deflate sender writes it: a sync-flushed raw deflate stream without its last four bytes.
    private static byte[] Deflate(string text)
    {
        using var buffer = new MemoryStream();
        using var deflate = new DeflateStream(buffer, CompressionLevel.Optimal, leaveOpen: true);
        deflate.Write(Encoding.UTF8.GetBytes(text));
        deflate.Flush(); // a sync flush: the output ends with 00 00 ff ff
        var bytes = buffer.ToArray();
        Assert.Equal([0x00, 0x00, 0xff, 0xff], bytes[^4..]);
        return bytes[..^4];
    }

    // The four bytes back, then an empty final block so the stream ends cleanly.
    private static byte[] Inflate(byte[] payload)
    {
        using var inflate = new DeflateStream(new MemoryStream([.. payload, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00]), CompressionMode.Decompress);
        using var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }

    // The next data frame (pings answered by no one are skipped).
    private static async Task<RawFrame> NextFrameAsync(RawWebSocket raw)
    {
        using var timeout = new CancellationTokenSource(TestClient.Timeout);
        while (true)
        {
            var frame = await RawFrames.ReadAsync(raw.Stream, timeout.Token) ?? throw new WebSocketException("the server closed the connection");
            if (frame.Opcode is RawFrame.Text or RawFrame.Binary)
            {
                return frame;
            }
        }
    }
}
