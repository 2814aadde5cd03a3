using Microsoft.Extensions.Logging;

namespace Realtime.Grains.Stores.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(300, LogLevel.Warning, "A group commit of {Count} appends failed; each publisher is told it failed")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(301, LogLevel.Warning, "PostgreSQL {Operation} failed; the caller is told the store is unavailable")]
    public static partial void OperationFailed(ILogger logger, Exception exception, string operation);

    [LoggerMessage(304, LogLevel.Warning, "Waiting for PostgreSQL: {Problem}")]
    public static partial void WaitingForPostgres(ILogger logger, string problem);
}
