namespace Realtime.Contracts.Grains;

/// <summary>A failure with a protocol error code (see <c>ErrorCodes</c>) whose message is safe to show a client.</summary>
public sealed class RealtimeException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
