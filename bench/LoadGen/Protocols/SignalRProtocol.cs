using System.Buffers.Text;
using System.Text;

namespace Realtime.Bench.LoadGen.Protocols;

/// <summary>
/// ASP.NET Core SignalR's JSON hub protocol over a WebSocket opened directly (the clients' skipNegotiation):
/// the handshake <c>{"protocol":"json","version":1}</c>, then invocations, each record ending in 0x1E.
/// Commands are invocations with an <c>invocationId</c>, so every command gets a completion, as every
/// Realtime command gets a reply. Group messages arrive as <c>{"type":1,"target":"m","arguments":[channel,data]}</c>.
/// </summary>
internal sealed class SignalRProtocol : IBenchProtocol
{
    public string Name => "signalr";

    private readonly byte[] _handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");

    public byte[]? Hello(int client) => _handshake;

    public byte[]? KeepAlive { get; } = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");

    public string Path(int client) => "/hub";

    public string Channel(int index) => $"c{index}";

    public byte[] Subscribe(long id, string channel) =>
        Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"{{id}}","target":"Subscribe","arguments":["{{channel}}"]}""" + "\u001e");

    public int WritePublish(Span<byte> destination, long id, string channel, ReadOnlySpan<byte> data)
    {
        var written = 0;
        RealtimeProtocol.Append(destination, ref written, "{\"type\":1,\"invocationId\":\""u8);
        Utf8Formatter.TryFormat(id, destination[written..], out var n);
        written += n;
        RealtimeProtocol.Append(destination, ref written, "\",\"target\":\"Publish\",\"arguments\":[\""u8);
        written += Encoding.UTF8.GetBytes(channel, destination[written..]);
        RealtimeProtocol.Append(destination, ref written, "\","u8);
        RealtimeProtocol.Append(destination, ref written, data);
        RealtimeProtocol.Append(destination, ref written, "]}\u001e"u8);
        return written;
    }

    public bool SeparatedRecords => true;

    // The handshake reply is {} (or {"error":…}); a completion is type 3.
    public bool IsReply(ReadOnlySpan<byte> record) =>
        record.StartsWith("{\"type\":3"u8) || record.SequenceEqual("{}"u8) || record.StartsWith("{\"error\""u8);

    public bool IsError(ReadOnlySpan<byte> record) => record.IndexOf("\"error\""u8) >= 0;
}
