namespace Realtime.Bench.LoadGen.Protocols;

/// <summary>
/// What differs between the systems under test: the upgrade path, the commands, and how to tell a reply
/// from a push. Every system carries the same <c>data</c> object, <c>{"k":&lt;send timestamp&gt;,"r":&lt;step&gt;,"p":"…"}</c>,
/// from publisher to subscribers, so the generator reads all of them the same way.
/// </summary>
internal interface IBenchProtocol
{
    string Name { get; }

    /// <summary>The upgrade path (with query) for client number <paramref name="client"/>.</summary>
    string Path(int client);

    /// <summary>Extra headers of the upgrade request, each ending in CRLF.</summary>
    string UpgradeHeaders => "";

    /// <summary>A first frame to send after the upgrade and wait a reply for (Realtime's connect, SignalR's handshake), or null.</summary>
    byte[]? Hello(int client);

    /// <summary>A frame to send now and then so the server keeps an idle client (SignalR's ping), or null.</summary>
    byte[]? KeepAlive { get; }

    string Channel(int index);

    byte[] Subscribe(long id, string channel);

    /// <summary>Writes a publish command carrying <paramref name="data"/>; returns its length.</summary>
    int WritePublish(Span<byte> destination, long id, string channel, ReadOnlySpan<byte> data);

    /// <summary>True when one WebSocket frame may hold several records, each ending in 0x1E (SignalR).</summary>
    bool SeparatedRecords { get; }

    /// <summary>True when <paramref name="record"/> answers a command (or the handshake).</summary>
    bool IsReply(ReadOnlySpan<byte> record);

    bool IsError(ReadOnlySpan<byte> record);
}

internal static class Protocol
{
    public static IBenchProtocol Create(string name, string? jwtSecret) => name switch
    {
        "realtime" => new RealtimeProtocol(jwtSecret ?? throw new ArgumentException("--jwt-secret is required for the realtime protocol")),
        // The same, offering permessage-deflate: for the idle scenario, whose frames stay under the server's MinBytes.
        "realtime-deflate" => new RealtimeProtocol(jwtSecret ?? throw new ArgumentException("--jwt-secret is required for the realtime protocol"),
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
        "simple" => new SimpleProtocol(),
        "signalr" => new SignalRProtocol(),
        _ => throw new ArgumentException($"unknown protocol '{name}' (realtime, realtime-deflate, simple, signalr)"),
    };
}
