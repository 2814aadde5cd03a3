namespace Realtime.Contracts.Grains;

/// <summary>A failure with a protocol error code (see <c>ErrorCodes</c>) whose message is safe to show a client.</summary>
public sealed class RealtimeException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;

    /// <summary>The <see cref="RealtimeException"/> in <paramref name="e"/> or its inner exceptions
    /// (grain calls may wrap it, e.g. when an activation fails), or null.</summary>
    public static RealtimeException? FindIn(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is RealtimeException known)
            {
                return known;
            }
        }

        return null;
    }
}
