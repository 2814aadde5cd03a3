namespace Realtime.Contracts.Wire;

/// <summary>
/// A push that goes to many sockets of a front-end process: written once as JSON, and turned into MessagePack at
/// most once, by the first <c>realtime.msgpack</c> socket that sends it. Every socket of a format sends the same array.
/// </summary>
public sealed class PushFrame(byte[] json)
{
    private byte[]? _messagePack;

    public byte[] Json { get; } = json;

    public byte[] MessagePack
    {
        get
        {
            // Two sockets may race here: both compute the same bytes and one array wins, so no lock is needed.
            return Volatile.Read(ref _messagePack) ?? Interlocked.CompareExchange(ref _messagePack, MessagePackFrames.FromJson(Json), null) ?? _messagePack!;
        }
    }

    public byte[] In(WireFormat format) => format == WireFormat.Json ? Json : MessagePack;
}
