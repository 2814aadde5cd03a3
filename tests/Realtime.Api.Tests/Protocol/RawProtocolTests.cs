using System.Net.Sockets;
using System.Text;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Api.Tests.Reliability;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Protocol;

/// <summary>
/// RFC 6455 violations sent over plain TCP, frames no WebSocket library would write: each one gets
/// the close code SPEC §6 gives it (1002, 1007, 1009), the connection is then dropped, and the node
/// goes on serving everyone else. Much of this is checked by the framework's WebSocket; these tests
/// pin down what a client actually sees.
/// </summary>
// Not parallel: one case bounds the whole process's allocations, which other tests would inflate.
[Collection(Realtime.Api.Tests.Cluster.ClusterCollection.Name)]
public sealed class RawProtocolTests(ITestOutputHelper output)
{
    // A polling deadline, not a bound: the timeouts under test are a second or two, and a busy machine may take longer.
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(20);

    /// <summary>Short close and keep-alive timeouts, so a client that never completes the close handshake is dropped quickly.</summary>
    private static Dictionary<string, string?> Settings(int maxFrameBytes = 4096) => new()
    {
        ["Realtime:Limits:MaxFrameBytes"] = maxFrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Realtime:Limits:CloseTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task An_unmasked_client_frame_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}"""), mask: false);

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(0x40)] // RSV1: no extension (permessage-deflate) was negotiated
    [InlineData(0x20)] // RSV2
    [InlineData(0x10)] // RSV3
    public async Task A_frame_with_a_reserved_bit_set_closes_with_1002(byte reserved)
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);
        var key = RawFrames.NewMaskKey();
        var payload = Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}""");

        byte[] frame = [.. RawFrames.Header(RawFrame.Text, (ulong)payload.Length, fin: true, key, reserved), .. RawFrames.Mask(payload, key)];
        await raw.Stream.WriteAsync(frame);

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xF)]
    public async Task A_reserved_opcode_closes_with_1002(byte opcode)
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(opcode, [1, 2, 3]);

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_ping_over_125_bytes_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Ping, new byte[126]);

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_fragmented_ping_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Ping, [1, 2, 3], fin: false);

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_continuation_frame_with_no_message_to_continue_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Continuation, Encoding.UTF8.GetBytes("""{"id":1,"type":"ping"}"""));

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_new_text_frame_in_the_middle_of_a_fragmented_message_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"""), fin: false);
        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":2,"type":"ping"}"""));

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_ping_in_the_middle_of_a_fragmented_message_is_answered_and_the_message_completes()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"""), fin: false);
        await raw.SendFrameAsync(RawFrame.Ping, [7, 7]);
        await raw.SendFrameAsync(RawFrame.Continuation, Encoding.UTF8.GetBytes("\"type\":\"ping\"}"));

        using var cts = new CancellationTokenSource(CloseWait);
        var pong = await RawFrames.ReadAsync(raw.Stream, cts.Token);
        Assert.Equal(RawFrame.Pong, pong!.Opcode);
        Assert.Equal([7, 7], pong.Payload);
        var reply = await RawFrames.ReadAsync(raw.Stream, cts.Token);
        Assert.Equal("""{"id":1,"result":{}}""", reply!.TextPayload);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_text_frame_closes_with_1007_even_when_the_bad_byte_is_in_a_later_fragment()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var whole = await ConnectAsync(server);
        await using var split = await ConnectAsync(server);
        byte[] bad = [.. Encoding.UTF8.GetBytes("""{"id":1,"type":"ping","x":"a"""), 0xC3, 0x28, (byte)'"', (byte)'}'];

        await whole.SendFrameAsync(RawFrame.Text, bad);
        await split.SendFrameAsync(RawFrame.Text, bad[..10], fin: false);
        await split.SendFrameAsync(RawFrame.Continuation, bad[10..]);

        await AssertClosedWithAsync(whole, 1007);
        await AssertClosedWithAsync(split, 1007);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_character_split_across_two_fragments_is_valid_utf8_and_is_answered()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);
        var frame = Encoding.UTF8.GetBytes("""{"id":1,"type":"ping","x":"é😀"}""");
        var middle = Array.IndexOf(frame, (byte)0xF0) + 2; // inside the emoji's four bytes

        await raw.SendFrameAsync(RawFrame.Text, frame[..middle], fin: false);
        await raw.SendFrameAsync(RawFrame.Continuation, frame[middle..]);

        using var cts = new CancellationTokenSource(CloseWait);
        Assert.Equal("""{"id":1,"result":{}}""", (await RawFrames.ReadAsync(raw.Stream, cts.Token))!.TextPayload);
    }

    [Theory]
    [InlineData(0x7FFF_FFFF_FFFF_FFFFUL)] // the largest length RFC 6455 allows
    [InlineData(1UL << 30)]               // 1 GiB: far over MaxFrameBytes, small enough that someone might try to allocate it
    public async Task A_frame_declaring_a_huge_length_closes_with_1009_without_the_server_allocating_it(ulong declared)
    {
        await using var server = await RealtimeServer.StartAsync(Settings(maxFrameBytes: 64 * 1024));
        await using var raw = await ConnectAsync(server);
        var key = RawFrames.NewMaskKey();
        var chunk = Encoding.UTF8.GetBytes(new string('x', 8 * 1024));
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var heapBefore = GC.GetGCMemoryInfo().HeapSizeBytes;

        // The header promises `declared` bytes; the client then streams just past MaxFrameBytes of them.
        await raw.Stream.WriteAsync(RawFrames.Header(RawFrame.Text, declared, fin: true, key));
        var sent = 0L;
        var reader = RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        try
        {
            while (sent <= 64 * 1024 + chunk.Length && !reader.IsCompleted)
            {
                await raw.Stream.WriteAsync(RawFrames.Mask(chunk, key, sent));
                sent += chunk.Length;
            }
        }
        catch (IOException)
        {
            // the server may drop the connection while the rest is still being written
        }

        var ending = await reader;
        Assert.Equal(1009, ending.CloseCode);
        Assert.True(ending.ConnectionClosed, "the server drops the connection once the close handshake times out");
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 32L * 1024 * 1024, $"the whole process allocated {allocated:N0} bytes while a frame declared {declared:N0}");
        Assert.True(GC.GetGCMemoryInfo().HeapSizeBytes - heapBefore < 32L * 1024 * 1024, "the managed heap did not jump");
        Measured.Record(output, declared > int.MaxValue ? "huge-length-2^63" : "huge-length-1GiB", new Dictionary<string, object>
        {
            ["declared_bytes"] = declared,
            ["sent_bytes"] = sent,
            ["process_allocated_mb"] = Measured.Round(allocated / 1048576.0, 2),
            ["close_code"] = ending.CloseCode ?? 0,
        });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(true, false)]  // the direct upgrade below the HTTP server (DuplexPipeStream)
    [InlineData(false, false)] // ASP.NET Core's WebSocket middleware
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task A_header_declaring_more_than_MaxFrameBytes_closes_with_1009_though_no_payload_follows(bool directUpgrade, bool fragmented)
    {
        var settings = Settings(maxFrameBytes: 4096);
        settings["Realtime:DirectUpgrade"] = directUpgrade ? "true" : "false";
        await using var server = await RealtimeServer.StartAsync(settings);
        await using var raw = await ConnectAsync(server);
        var key = RawFrames.NewMaskKey();

        // A whole frame of 1 GiB, or a message whose next fragment would take it past the limit: promised in a
        // header, and not one byte of it sent. Before, the server waited for the bytes and never answered.
        if (fragmented)
        {
            await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes(new string(' ', 100)), fin: false);
            await raw.Stream.WriteAsync(RawFrames.Header(RawFrame.Continuation, 4096 - 99, fin: true, key));
        }
        else
        {
            await raw.Stream.WriteAsync(RawFrames.Header(RawFrame.Text, 1UL << 30, fin: true, key));
        }

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(1009, ending.CloseCode);
        Assert.Equal("frame over 4096 bytes", ending.CloseReason);
        Assert.True(ending.ConnectionClosed, "the server drops the connection once the close handshake times out");
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_message_of_exactly_MaxFrameBytes_in_fragments_is_still_answered(bool directUpgrade)
    {
        var settings = Settings(maxFrameBytes: 4096);
        settings["Realtime:DirectUpgrade"] = directUpgrade ? "true" : "false";
        await using var server = await RealtimeServer.StartAsync(settings);
        await using var raw = await ConnectAsync(server);
        var head = Encoding.UTF8.GetBytes("""{"id":1,"type":"ping","pad":" """);
        var tail = Encoding.UTF8.GetBytes("\"}");
        var pad = Encoding.UTF8.GetBytes(new string(' ', 4096 - head.Length - tail.Length));

        await raw.SendFrameAsync(RawFrame.Text, head, fin: false);
        await raw.SendFrameAsync(RawFrame.Continuation, pad, fin: false);
        await raw.SendFrameAsync(RawFrame.Continuation, tail);

        using var cts = new CancellationTokenSource(CloseWait);
        Assert.Equal("""{"id":1,"result":{}}""", (await RawFrames.ReadAsync(raw.Stream, cts.Token))!.TextPayload);
    }

    [Fact]
    public async Task A_length_with_the_most_significant_bit_set_closes_with_1002()
    {
        await using var server = await RealtimeServer.StartAsync(Settings());
        await using var raw = await ConnectAsync(server);

        await raw.Stream.WriteAsync(RawFrames.Header(RawFrame.Text, 0x8000_0000_0000_0010UL, fin: true, RawFrames.NewMaskKey()));

        await AssertClosedWithAsync(raw, 1002);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_fragmented_message_that_never_ends_closes_with_1009_once_it_passes_MaxFrameBytes()
    {
        await using var server = await RealtimeServer.StartAsync(Settings(maxFrameBytes: 4096));
        await using var raw = await ConnectAsync(server);
        var piece = Encoding.UTF8.GetBytes(new string(' ', 100));

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"type":"ping","pad":"""), fin: false);
        var reader = RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        var fragments = 0;
        try
        {
            // Each fragment is tiny and the message never ends: only the running total can stop it.
            while (!reader.IsCompleted && fragments < 1000)
            {
                await raw.SendFrameAsync(RawFrame.Continuation, piece, fin: false);
                fragments++;
            }
        }
        catch (IOException)
        {
        }

        var ending = await reader;
        Assert.Equal(1009, ending.CloseCode);
        Assert.Empty(ending.FramesBefore);
        Assert.InRange(fragments, 4096 / piece.Length - 1, 1000);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task A_client_that_stalls_mid_message_before_authenticating_is_closed_by_the_handshake_timeout()
    {
        var settings = Settings();
        settings["Realtime:Limits:HandshakeTimeout"] = "00:00:01";
        await using var server = await RealtimeServer.StartAsync(settings);
        await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, "/ws");

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"type":"conn"""), fin: false);

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(4001, ending.CloseCode);
        Assert.Contains(ending.FramesBefore, f => f.TextPayload.Contains("\"disconnect\"", StringComparison.Ordinal));
        Assert.True(ending.ConnectionClosed, "the half-sent message does not keep the connection open past CloseTimeout");
    }

    [Fact]
    public async Task A_signed_in_client_that_stalls_mid_message_and_ignores_pings_is_dropped_by_keep_alive()
    {
        var settings = Settings();
        settings["Realtime:Limits:KeepAliveInterval"] = "00:00:00.500";
        settings["Realtime:Limits:KeepAliveTimeout"] = "00:00:01";
        await using var server = await RealtimeServer.StartAsync(settings);
        await using var raw = await ConnectAsync(server);

        await raw.SendFrameAsync(RawFrame.Text, Encoding.UTF8.GetBytes("""{"id":1,"type":"pi"""), fin: false);

        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.True(ending.ConnectionClosed, "a client that never answers a ping is dropped");
        Assert.Contains(ending.FramesBefore, f => f.Opcode == RawFrame.Ping);
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Request_headers_dribbled_one_byte_a_second_are_cut_off_by_the_headers_timeout()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Kestrel:Limits:RequestHeadersTimeout"] = "00:00:02",
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseUri.Host, server.BaseUri.Port);
        var stream = tcp.GetStream();
        var request = Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: {server.BaseUri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        var started = DateTime.UtcNow;
        var closed = WaitForServerToCloseAsync(stream);

        var sent = 0;
        while (!closed.IsCompleted && sent < request.Length && DateTime.UtcNow - started < TimeSpan.FromSeconds(15))
        {
            try
            {
                await stream.WriteAsync(request.AsMemory(sent, 1));
                sent++;
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(closed, Task.Delay(TimeSpan.FromSeconds(1)));
        }

        var response = await closed.WaitAsync(TimeSpan.FromSeconds(30));
        var elapsed = DateTime.UtcNow - started;
        Assert.True(sent < request.Length, "the connection was cut before the headers were complete");
        Assert.DoesNotContain("101", response, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 408", response, StringComparison.Ordinal); // the headers timeout, not anything else
        Measured.Record(output, "dribbled-headers", new Dictionary<string, object>
        {
            ["headers_timeout_s"] = 2,
            ["cut_after_s"] = Measured.Round(elapsed.TotalSeconds),
            ["bytes_sent"] = sent,
            ["response"] = response.Split('\r')[0],
        });
        await Witness.AssertNodeServesOthersAsync(server);
    }

    [Fact]
    public async Task Request_headers_get_ten_seconds_by_default_not_kestrels_thirty()
    {
        await using var server = await RealtimeServer.StartAsync();

        var kestrel = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(10), kestrel.Limits.RequestHeadersTimeout);
    }

    private static Task<RawWebSocket> ConnectAsync(RealtimeServer server) =>
        RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("mallory")}");

    private static async Task AssertClosedWithAsync(RawWebSocket raw, int code)
    {
        var ending = await RawFrames.ReadUntilClosedAsync(raw, CloseWait);
        Assert.Equal(code, ending.CloseCode);
        Assert.True(ending.ConnectionClosed, "the server drops the TCP connection after its close frame");
    }

    // Everything the server writes until it closes the connection (a 408 response, or nothing).
    private static async Task<string> WaitForServerToCloseAsync(NetworkStream stream)
    {
        var received = new StringBuilder();
        var buffer = new byte[1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
        }

        return received.ToString();
    }
}
