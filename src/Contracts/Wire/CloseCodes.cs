namespace Realtime.Contracts.Wire;

/// <summary>WebSocket close codes the server uses (SPEC §6).</summary>
public static class CloseCodes
{
    public const int ProtocolError = 1002;
    /// <summary>A frame of the kind the subprotocol does not use: binary on realtime.json, text on realtime.msgpack.</summary>
    public const int UnsupportedData = 1003;
    public const int InvalidPayload = 1007;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;
    public const int Unauthorized = 4001;
    /// <summary>The app backend disconnected the user (REST); the client should not reconnect on its own.</summary>
    public const int DisconnectedByServer = 4003;
    public const int SlowConsumer = 4008;
    public const int ShuttingDown = 4010;
    public const int TooManyRequests = 4029;
}
