using Microsoft.Extensions.Logging;

namespace Realtime.Grains.Stores.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(300, LogLevel.Warning, "A group commit of {Count} appends failed; each publisher is told it failed")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(304, LogLevel.Warning, "Waiting for PostgreSQL: {Problem}")]
    public static partial void WaitingForPostgres(ILogger logger, string problem);
}
