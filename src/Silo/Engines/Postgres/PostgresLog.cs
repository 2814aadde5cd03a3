using Microsoft.Extensions.Logging;

namespace Realtime.Silo.Engines.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(300, LogLevel.Warning, "A group commit of {Count} appends failed; each publisher is told it failed")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(301, LogLevel.Warning, "The LISTEN connection failed; reconnecting in {Delay}")]
    public static partial void ListenFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(302, LogLevel.Information, "Listening for events on PostgreSQL (resync {Resync})")]
    public static partial void Listening(ILogger logger, bool resync);

    [LoggerMessage(304, LogLevel.Warning, "Waiting for PostgreSQL: {Problem}")]
    public static partial void WaitingForPostgres(ILogger logger, string problem);

    [LoggerMessage(303, LogLevel.Error, "Could not decode or resolve an event payload; the channel's next message refills any gap")]
    public static partial void BadPayload(ILogger logger, Exception exception);
}
