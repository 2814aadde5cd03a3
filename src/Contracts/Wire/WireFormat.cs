namespace Realtime.Contracts.Wire;

/// <summary>How a socket's frames are encoded, chosen by the subprotocol the client asks for (docs/protocol.md).</summary>
public enum WireFormat
{
    /// <summary><c>realtime.json</c>, the default: text frames, each one JSON object.</summary>
    Json,

    /// <summary><c>realtime.msgpack</c>: binary frames, each one MessagePack map with the JSON frame's fields.</summary>
    MessagePack,
}

/// <summary>The subprotocol names of <see cref="WireFormat"/>.</summary>
public static class Subprotocols
{
    public const string Json = "realtime.json";
    public const string MessagePack = "realtime.msgpack";

    /// <summary>The first of the client's subprotocols the server speaks, in the client's order of preference.</summary>
    public static bool TryChoose(IEnumerable<string> requested, out string? chosen, out WireFormat format)
    {
        foreach (var name in requested)
        {
            if (string.Equals(name, Json, StringComparison.Ordinal))
            {
                (chosen, format) = (Json, WireFormat.Json);
                return true;
            }

            if (string.Equals(name, MessagePack, StringComparison.Ordinal))
            {
                (chosen, format) = (MessagePack, WireFormat.MessagePack);
                return true;
            }
        }

        (chosen, format) = (null, WireFormat.Json);
        return false;
    }
}
