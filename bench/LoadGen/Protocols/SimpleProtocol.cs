using System.Buffers.Text;
using System.Text;

namespace Realtime.Bench.LoadGen.Protocols;

/// <summary>
/// The peers' JSON protocol (bench/peers/README.md), spoken by KestrelBroadcast and node-ws:
/// <c>{"type":"subscribe","id":1,"channel":"c1"}</c> → <c>{"id":1}</c>;
/// <c>{"type":"publish","id":2,"channel":"c1","data":{…}}</c> → <c>{"id":2}</c> to the publisher and
/// <c>{"type":"message","channel":"c1","data":{…}}</c> to every subscriber.
/// </summary>
internal sealed class SimpleProtocol : IBenchProtocol
{
    public string Name => "simple";

    public byte[]? Hello(int client) => null;

    public byte[]? KeepAlive => null;

    public string Path(int client) => "/ws";

    public string Channel(int index) => $"c{index}";

    public byte[] Subscribe(long id, string channel) => Encoding.UTF8.GetBytes($$"""{"type":"subscribe","id":{{id}},"channel":"{{channel}}"}""");

    public int WritePublish(Span<byte> destination, long id, string channel, ReadOnlySpan<byte> data)
    {
        var written = 0;
        RealtimeProtocol.Append(destination, ref written, "{\"type\":\"publish\",\"id\":"u8);
        Utf8Formatter.TryFormat(id, destination[written..], out var n);
        written += n;
        RealtimeProtocol.Append(destination, ref written, ",\"channel\":\""u8);
        written += Encoding.UTF8.GetBytes(channel, destination[written..]);
        RealtimeProtocol.Append(destination, ref written, "\",\"data\":"u8);
        RealtimeProtocol.Append(destination, ref written, data);
        RealtimeProtocol.Append(destination, ref written, "}"u8);
        return written;
    }

    public bool SeparatedRecords => false;

    public bool IsReply(ReadOnlySpan<byte> record) => record.StartsWith("{\"id\":"u8);

    public bool IsError(ReadOnlySpan<byte> record) => record.IndexOf("\"error\""u8) >= 0;
}
