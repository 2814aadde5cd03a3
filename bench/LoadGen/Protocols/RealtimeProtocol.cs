using System.Buffers.Text;
using System.Text;

namespace Realtime.Bench.LoadGen.Protocols;

/// <summary>
/// Realtime's protocol (docs/protocol.md): the token in a first <c>connect</c> command, as the JS client sends it
/// (clients/js), then commands with an integer <c>id</c>;
/// replies are the frames without <c>type</c>. Each client is its own user. Channels are in the <c>bench</c>
/// namespace, which run.sh configures without presence (the peers have none).
/// </summary>
internal sealed class RealtimeProtocol(string secret, string upgradeHeaders = "") : IBenchProtocol
{
    public string Name => "realtime";

    public string UpgradeHeaders => upgradeHeaders;

    public byte[]? Hello(int client) => Encoding.UTF8.GetBytes($$"""{"id":1,"type":"connect","token":"{{Token($"u{client}")}}"}""");

    public byte[]? KeepAlive => null; // the server pings at the WebSocket level and the client pongs

    public string Path(int client) => "/ws";

    public string Channel(int index) => $"bench:c{index}";

    public byte[] Subscribe(long id, string channel) => Encoding.UTF8.GetBytes($$"""{"id":{{id}},"type":"subscribe","channel":"{{channel}}"}""");

    public int WritePublish(Span<byte> destination, long id, string channel, ReadOnlySpan<byte> data)
    {
        var written = 0;
        Append(destination, ref written, "{\"id\":"u8);
        Utf8Formatter.TryFormat(id, destination[written..], out var n);
        written += n;
        Append(destination, ref written, ",\"type\":\"publish\",\"channel\":\""u8);
        written += Encoding.UTF8.GetBytes(channel, destination[written..]);
        Append(destination, ref written, "\",\"data\":"u8);
        Append(destination, ref written, data);
        Append(destination, ref written, "}"u8);
        return written;
    }

    public bool SeparatedRecords => false;

    // A reply has no "type" and starts with its id; every push starts with "type".
    public bool IsReply(ReadOnlySpan<byte> record) => record.StartsWith("{\"id\":"u8) || record.StartsWith("{\"error\""u8);

    public bool IsError(ReadOnlySpan<byte> record) => record.IndexOf(",\"error\":"u8) >= 0 || record.StartsWith("{\"error\""u8);

    /// <summary>An HS256 token for <paramref name="user"/>, valid for a day.</summary>
    public string Token(string user) => Shared.Token.Sign(secret, user, TimeSpan.FromDays(1));

    internal static void Append(Span<byte> destination, ref int written, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination[written..]);
        written += bytes.Length;
    }
}
