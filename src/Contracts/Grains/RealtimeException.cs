namespace Realtime.Contracts.Grains;

/// <summary>A failure with a protocol error code (see <c>ErrorCodes</c>) whose message is safe to show a client.
/// Serialisable, so a grain on another silo can throw it to a front end. It carries no inner exception: the cause
/// (a driver's exception, say) has no codec and would fail the reply; the grain logs it instead.</summary>
[GenerateSerializer, Alias("realtime.exception")]
public sealed class RealtimeException : Exception
{
    public RealtimeException(string code, string message) : base(message) => Code = code;

    [Id(0)]
    public string Code { get; private set; }

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
