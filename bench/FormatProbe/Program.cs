using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Realtime.Bench.Shared;

// Usage: FormatProbe --url ws://127.0.0.1:5301 --server-pid PID --jwt-secret S [--subscribers 100] [--messages 2000]
//                    [--rate 200] [--takeover-url ws://… --takeover-pid PID] --out formats.md
// The server must run with Realtime:Compression:Enabled=true (bench/run.sh starts it so) and a "bench" namespace
// without presence. For each format a fresh channel gets the subscribers; a JSON publisher without compression sends
// the same chat message (about 500 bytes of data) at a steady rate, below capacity; the probe counts every byte the
// subscribers' sockets read and the server's CPU time while the messages go out.
var options = Options.Parse(args);
// Chat messages of about 500 bytes of data, each different: about 75 words drawn (seeded by the message's number)
// from a few hundred common ones, the frequent ones often, as in real text. So a compressor that keeps its context
// between messages (context takeover) gains what shared vocabulary gives it, not the same sentences over and over.
string[] words = ("the be to of and a in that have I it for not on with he as you do at this but his by from they we say her she "
    + "or an will my one all would there their what so up out if about who get which go me when make can like time no just him "
    + "know take people into year your good some could them see other than then now look only come its over think also back "
    + "after use two how our work first well way even new want because any these give day most us release build deploy staging "
    + "production test tests passed failed review merge branch fix bug issue ticket customer order payment invoice meeting lunch "
    + "tomorrow today tonight morning please thanks team update quick note check dashboard alert error retry queue database "
    + "server client cache latency minutes hours week sprint plan ship rollout rollback config migration schema index query").Split(' ');
JsonElement Payload(int i)
{
    var random = new Random(i);
    var text = new StringBuilder();
    while (text.Length < 380)
    {
        // Zipf-like: the square of a uniform number favours the first, most common words.
        var pick = random.NextDouble();
        text.Append(words[(int)(pick * pick * words.Length)]).Append(random.Next(12) == 0 ? ". " : " ");
    }

    return JsonSerializer.SerializeToElement(new
    {
        text = text.ToString().TrimEnd(),
        user = "maria.lopez",
        room = "team:release",
        mentions = new[] { "sam", "priya" },
        n = i,
    });
}

var dataBytes = JsonSerializer.SerializeToUtf8Bytes(Payload(0)).Length;

var results = new List<Result>();
foreach (var format in new[] { new Format("JSON", null, false), new Format("MessagePack", "realtime.msgpack", false),
             new Format("JSON + deflate", null, true), new Format("MessagePack + deflate", "realtime.msgpack", true) })
{
    results.Add(await MeasureAsync(format, options.Url, options.ServerPid));
    Console.WriteLine($"formats: {results[^1]}");
}

// The same deflate against a node that keeps its compression context between messages (Realtime:Compression:
// ServerContextTakeover): what it saves on the wire, and what the compressor it keeps per socket costs.
if (options.TakeoverUrl is { } takeoverUrl)
{
    results.Add(await MeasureAsync(new Format("JSON + deflate, server context takeover", null, true), takeoverUrl, options.TakeoverPid));
    Console.WriteLine($"formats: {results[^1]}");
}

var json = results[0];
var report = new StringBuilder()
    .AppendLine(CultureInfo.InvariantCulture, $"Channel of {options.Subscribers}, {options.Messages:N0} messages at {options.Rate}/s, each with about {dataBytes} bytes of `data` (chat messages); the publisher is a JSON socket. Bytes are what the subscribers' sockets read (WebSocket frames, headers included); CPU is the server process's, over the whole run.")
    .AppendLine()
    .AppendLine("| format | bytes per delivery | vs JSON | server CPU per million deliveries | vs JSON | server RSS growth per subscriber |")
    .AppendLine("|---|---:|---:|---:|---:|---:|");
foreach (var r in results)
{
    report.AppendLine(CultureInfo.InvariantCulture,
        $"| {r.Format.Name} | {r.BytesPerDelivery:N0} | {r.BytesPerDelivery / json.BytesPerDelivery - 1:+0%;-0%;0%} | {r.CpuPerMillion:N1} s | {r.CpuPerMillion / json.CpuPerMillion - 1:+0%;-0%;0%} | {r.RssPerSubscriberKb:N1} KiB |");
}

var packed = results[1];
var deflated = results[2];
var shrink = 1 - deflated.BytesPerDelivery / json.BytesPerDelivery;
report.AppendLine()
    .AppendLine("| Target | Measured | Met |")
    .AppendLine("|---|---|---|")
    .AppendLine(CultureInfo.InvariantCulture, $"| MessagePack ≤ JSON in server CPU per delivery | {packed.CpuPerMillion:N1} vs {json.CpuPerMillion:N1} s per million | {(packed.CpuPerMillion <= json.CpuPerMillion ? "yes" : "**no**")} |")
    .AppendLine(CultureInfo.InvariantCulture, $"| a {dataBytes}-byte chat message shrinks by ≥ 40% on the wire with deflate | {shrink:P0} ({deflated.BytesPerDelivery:N0} vs {json.BytesPerDelivery:N0} bytes) | {(shrink >= 0.4 ? "yes" : "**no**")} |");
File.WriteAllText(options.Out, report.ToString());
Console.WriteLine(report);
return;

async Task<Result> MeasureAsync(Format format, Uri url, int serverPid)
{
    var channel = $"bench:room{results.Count + 1}";
    var rssBefore = RssKb(serverPid);
    var subscribers = new List<Subscriber>();
    for (var i = 0; i < options.Subscribers; i++)
    {
        subscribers.Add(await Subscriber.ConnectAsync(url, options.Secret, $"f{i}", format, channel));
    }

    await using var publisher = await Subscriber.ConnectAsync(url, options.Secret, "publisher", new Format("JSON", null, false), channel: null);

    // Warm-up: the server's code paths and the sockets' buffers, then the counters start.
    await PublishAsync(publisher, channel, 200, rate: 0);
    await WaitAsync(subscribers, 200);
    var (bytesBefore, deliveredBefore) = (subscribers.Sum(s => s.Bytes), subscribers.Sum(s => s.Messages));
    var cpuBefore = CpuSeconds(serverPid);

    await PublishAsync(publisher, channel, options.Messages, options.Rate);
    await WaitAsync(subscribers, 200 + options.Messages);
    var cpu = CpuSeconds(serverPid) - cpuBefore;
    var rssPerSubscriber = (double)(RssKb(serverPid) - rssBefore) / subscribers.Count;
    var delivered = subscribers.Sum(s => s.Messages) - deliveredBefore;
    var bytes = subscribers.Sum(s => s.Bytes) - bytesBefore;
    foreach (var s in subscribers)
    {
        await s.DisposeAsync();
    }

    return new Result(format, (double)bytes / delivered, cpu / delivered * 1_000_000, rssPerSubscriber);
}

async Task PublishAsync(Subscriber publisher, string channel, int count, int rate)
{
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        if (rate > 0)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
        }

        await publisher.SendAsync(JsonSerializer.Serialize(new { id = i + 10, type = "publish", channel, data = Payload(i) }));
    }
}

static async Task WaitAsync(List<Subscriber> subscribers, int each)
{
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
    while (subscribers.Any(s => s.Messages < each))
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"only {subscribers.Min(s => s.Messages)} of {each} messages reached the slowest subscriber");
        }

        await Task.Delay(20);
    }
}

static long RssKb(int pid) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

static double CpuSeconds(int pid)
{
    // utime and stime, fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ = 100).
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

internal sealed record Format(string Name, string? Subprotocol, bool Deflate);

internal sealed record Result(Format Format, double BytesPerDelivery, double CpuPerMillion, double RssPerSubscriberKb)
{
    public override string ToString() => $"{Format.Name}: {BytesPerDelivery:N0} bytes per delivery, {CpuPerMillion:N1} CPU-s per million deliveries";
}

internal sealed record Options(Uri Url, int ServerPid, string Secret, int Subscribers, int Messages, int Rate, string Out, Uri? TakeoverUrl, int TakeoverPid)
{
    public static Options Parse(string[] args)
    {
        string Value(string name, string? fallback = null)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback ?? throw new ArgumentException($"{name} is required");
        }

        return new Options(new Uri(Value("--url")), int.Parse(Value("--server-pid"), CultureInfo.InvariantCulture), Value("--jwt-secret"),
            int.Parse(Value("--subscribers", "100"), CultureInfo.InvariantCulture), int.Parse(Value("--messages", "2000"), CultureInfo.InvariantCulture),
            int.Parse(Value("--rate", "200"), CultureInfo.InvariantCulture), Value("--out"),
            Value("--takeover-url", "-") is var takeover && takeover != "-" ? new Uri(takeover) : null,
            int.Parse(Value("--takeover-pid", "0"), CultureInfo.InvariantCulture));
    }
}

/// <summary>One socket: counts the bytes its connection reads and the message pushes it gets.</summary>
internal sealed class Subscriber : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly CountingStream.Counter _counter;
    private readonly Task _reading;
    private int _messages;

    private Subscriber(ClientWebSocket socket, CountingStream.Counter counter)
    {
        (_socket, _counter) = (socket, counter);
        _reading = ReadAsync();
    }

    public long Bytes => Interlocked.Read(ref _counter.Bytes);

    public int Messages => Volatile.Read(ref _messages);

    public static async Task<Subscriber> ConnectAsync(Uri url, string secret, string user, Format format, string? channel)
    {
        var socket = new ClientWebSocket();
        if (format.Subprotocol is { } subprotocol)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        if (format.Deflate)
        {
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        var counter = new CountingStream.Counter();
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await s.ConnectAsync(context.DnsEndPoint, ct);
                return new CountingStream(new NetworkStream(s, ownsSocket: true), counter);
            },
        };
        var token = Token.Sign(secret, user, TimeSpan.FromHours(1));
        await socket.ConnectAsync(new Uri(url, $"/ws?token={token}"), new HttpMessageInvoker(handler, disposeHandler: false), CancellationToken.None);
        var subscriber = new Subscriber(socket, counter);
        if (channel is not null)
        {
            await subscriber.SendAsync(JsonSerializer.Serialize(new { id = 1, type = "subscribe", channel }));
        }

        return subscriber;
    }

    public Task SendAsync(string json) => _socket.SubProtocol == "realtime.msgpack"
        ? _socket.SendAsync(MessagePack.MessagePackSerializer.ConvertFromJson(json), WebSocketMessageType.Binary, true, CancellationToken.None)
        : _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var text = result.MessageType == WebSocketMessageType.Binary
                    ? MessagePack.MessagePackSerializer.ConvertToJson(message.ToArray())
                    : Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                if (text.Contains("\"type\":\"message\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _messages);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            await _reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
        }

        _socket.Dispose();
    }
}

/// <summary>A connection's stream that counts the bytes read from it.</summary>
internal sealed class CountingStream(Stream inner, CountingStream.Counter counter) : Stream
{
    public sealed class Counter
    {
        public long Bytes;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Interlocked.Add(ref counter.Bytes, read);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Interlocked.Add(ref counter.Bytes, read);
        return read;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
