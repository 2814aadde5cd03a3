using System.Buffers;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Realtime.Api.Sessions;

namespace Realtime.Api.Tests.Sessions;

/// <summary>
/// The reader of upgrade heads that <see cref="DirectUpgrade"/> answers itself. It must take what browsers and
/// client libraries send, and hand anything else to the HTTP server unread.
/// </summary>
public sealed class UpgradeRequestTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    // What Chromium sends, cookies and all.
    private static readonly string Browser =
        "GET /ws?token=abc.def.ghi HTTP/1.1\r\nHost: localhost:5000\r\nConnection: Upgrade\r\nPragma: no-cache\r\n" +
        "Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0\r\nUpgrade: websocket\r\n" +
        "Origin: http://localhost:5000\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\nCookie: a=1; b=2\r\nSec-WebSocket-Key: " + Key + "\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    private static string Minimal(string requestLine = "GET /ws HTTP/1.1", string extra = "") =>
        $"{requestLine}\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n";

    [Fact]
    public void A_browser_upgrade_is_taken_with_its_query_host_and_origin()
    {
        var bytes = Encoding.ASCII.GetBytes(Browser + "\x81\x85trailing frame bytes");
        var parse = UpgradeRequest.TryParse(new ReadOnlySequence<byte>(bytes), out var request, out var end);

        Assert.Equal(UpgradeRequest.Parse.Upgrade, parse);
        Assert.Equal("?token=abc.def.ghi", request!.Query);
        Assert.Equal("localhost:5000", request.Host);
        Assert.Equal("http://localhost:5000", request.Origin);
        Assert.Equal(Browser.Length, new ReadOnlySequence<byte>(bytes).Slice(0, end).Length); // the frame after the head stays unread
        Assert.Equal("abc.def.ghi", DirectUpgrade.TokenFrom(request.Query));
    }

    [Fact]
    public void The_accept_key_is_the_one_of_RFC_6455()
    {
        UpgradeRequest.TryParse(Sequence(Minimal()), out var request, out _);

        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", request!.AcceptKey()); // RFC 6455 §1.3
        Assert.Null(request.Query);
        Assert.Equal("", request.Origin);
    }

    [Theory]
    [InlineData("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nupgrade: WebSocket\r\nSEC-WEBSOCKET-KEY:" + Key + "\r\nSec-WebSocket-Version:13\r\n\r\n")]
    [InlineData("GET /ws? HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: \t" + Key + " \r\nSec-WebSocket-Version: 13\r\n\r\n")]
    public void Header_names_and_tokens_in_any_case_and_spacing_are_taken(string head) =>
        Assert.Equal(UpgradeRequest.Parse.Upgrade, UpgradeRequest.TryParse(Sequence(head), out _, out _));

    public static TheoryData<string, string> Declined => new()
    {
        { "another method", Minimal("POST /ws HTTP/1.1") },
        { "another path", Minimal("GET /wsx HTTP/1.1") },
        { "a sub-path", Minimal("GET /ws/ HTTP/1.1") },
        { "an absolute target", Minimal("GET http://h/ws HTTP/1.1") },
        { "HTTP/1.0", Minimal("GET /ws HTTP/1.0") },
        { "a space in the target", Minimal("GET /ws?a b HTTP/1.1") },
        { "a body", Minimal(extra: "Content-Length: 0\r\n") },
        { "a chunked body", Minimal(extra: "Transfer-Encoding: chunked\r\n") },
        { "a repeated Upgrade", Minimal(extra: "Upgrade: websocket\r\n") },
        { "a repeated key", Minimal(extra: $"Sec-WebSocket-Key: {Key}\r\n") },
        { "a repeated Host", Minimal(extra: "Host: other\r\n") },
        { "a repeated Origin", Minimal(extra: "Origin: http://a\r\nOrigin: http://b\r\n") },
        { "a folded header", Minimal(extra: "X-A: 1\r\n  continued\r\n") },
        { "a space before the colon", Minimal(extra: "X-A : 1\r\n") },
        { "a byte outside ASCII", Minimal(extra: "X-A: caf\u00e9\r\n") },
        { "a control character", Minimal(extra: "X-A: a\u0001b\r\n") },
        { "no Host", Minimal().Replace("Host: h\r\n", "", StringComparison.Ordinal) },
        { "no key", Minimal().Replace($"Sec-WebSocket-Key: {Key}\r\n", "", StringComparison.Ordinal) },
        { "a key of 15 bytes", Minimal().Replace(Key, "dGhlIHNhbXBsZSBub25j", StringComparison.Ordinal) },
        { "a key that is not base64", Minimal().Replace(Key, "dGhlIHNhbXBsZSBub25jZQ!!", StringComparison.Ordinal) },
        { "version 8", Minimal().Replace("Version: 13", "Version: 8", StringComparison.Ordinal) },
        { "no Upgrade", Minimal().Replace("Upgrade: websocket\r\n", "", StringComparison.Ordinal) },
        { "Upgrade to something else", Minimal().Replace("Upgrade: websocket", "Upgrade: h2c", StringComparison.Ordinal) },
        { "Connection without upgrade", Minimal().Replace("Connection: Upgrade", "Connection: keep-alive", StringComparison.Ordinal) },
        { "a head over 8 KiB", Minimal(extra: $"Cookie: {new string('c', UpgradeRequest.MaxHeadBytes)}\r\n") },
        { "TLS", "\u0016\u0003\u0001\u0002\u0000\u0001" },
        { "HTTP/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" },
        { "a health check", "GET /health/ready HTTP/1.1\r\nHost: h\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(Declined))]
    public void Anything_else_is_declined_and_left_unread(string why, string head)
    {
        var parse = UpgradeRequest.TryParse(Sequence(head), out var request, out _);

        Assert.True(parse == UpgradeRequest.Parse.Decline, $"{why}: {parse}");
        Assert.Null(request);
    }

    [Fact]
    public void Every_prefix_of_an_upgrade_asks_for_more_and_a_wrong_start_is_declined_at_once()
    {
        for (var length = 0; length < Browser.Length; length++)
        {
            Assert.Equal(UpgradeRequest.Parse.NeedMore, UpgradeRequest.TryParse(Sequence(Browser[..length]), out _, out _));
        }

        Assert.Equal(UpgradeRequest.Parse.Decline, UpgradeRequest.TryParse(Sequence("GET /h"), out _, out _));
        Assert.Equal(UpgradeRequest.Parse.Decline, UpgradeRequest.TryParse(Sequence("GET /wsx"), out _, out _));
        Assert.Equal(UpgradeRequest.Parse.Decline, UpgradeRequest.TryParse(Sequence("POST"), out _, out _));
        Assert.Equal(UpgradeRequest.Parse.Decline, UpgradeRequest.TryParse(Sequence("GET /ws " + new string('x', UpgradeRequest.MaxHeadBytes)), out _, out _));
    }

    [Property]
    public Property A_head_split_across_buffer_segments_reads_as_it_does_whole() =>
        Prop.ForAll(Gen.Choose(1, Browser.Length - 1).ArrayOf().ToArbitrary(), cuts =>
        {
            var bytes = Encoding.ASCII.GetBytes(Browser);
            var parse = UpgradeRequest.TryParse(Segmented(bytes, cuts), out var request, out var end);
            return parse == UpgradeRequest.Parse.Upgrade && request!.Query == "?token=abc.def.ghi"
                && Segmented(bytes, cuts).Slice(0, end).Length == bytes.Length;
        });

    [Property]
    public Property Any_bytes_are_read_without_throwing_and_only_a_complete_head_is_taken() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), Gen.Elements("", "GET /ws", "GET /ws?", Minimal()).ToArbitrary(), (tail, start) =>
        {
            var bytes = Encoding.ASCII.GetBytes(start).Concat(tail).ToArray();
            var parse = UpgradeRequest.TryParse(new ReadOnlySequence<byte>(bytes), out var request, out _);
            return parse != UpgradeRequest.Parse.Upgrade || (request is not null && Encoding.ASCII.GetString(bytes).Contains("\r\n\r\n", StringComparison.Ordinal));
        });

    private static ReadOnlySequence<byte> Sequence(string text) => new(Encoding.Latin1.GetBytes(text));

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int[] cuts)
    {
        var points = cuts.Append(0).Append(bytes.Length).Distinct().Order().ToArray();
        Segment? first = null, last = null;
        for (var i = 0; i + 1 < points.Length; i++)
        {
            var piece = bytes.AsMemory(points[i], points[i + 1] - points[i]);
            last = last is null ? first = new Segment(piece, 0) : last.Append(piece);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex) => (Memory, RunningIndex) = (memory, runningIndex);

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
