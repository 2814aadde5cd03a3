using Microsoft.Extensions.Logging;

namespace Realtime.Api.Sessions;

internal static partial class SessionsLog
{
    [LoggerMessage(200, LogLevel.Debug, "Client {Client} connected from {Remote}")]
    public static partial void Opened(ILogger logger, string client, string? remote);

    [LoggerMessage(201, LogLevel.Debug, "Client {Client} (user {User}) closed: {Code} {Reason}")]
    public static partial void Closed(ILogger logger, string client, string? user, int code, string reason);

    [LoggerMessage(202, LogLevel.Information, "Client {Client} refused: {Problem}")]
    public static partial void AuthFailed(ILogger logger, string client, string problem);

    [LoggerMessage(203, LogLevel.Warning, "Client {Client} (user {User}) is a slow consumer: over {MaxQueueBytes} bytes queued; closing with 4008")]
    public static partial void SlowConsumer(ILogger logger, string client, string? user, int maxQueueBytes);

    [LoggerMessage(204, LogLevel.Warning, "Client {Client} (user {User}) sent too many commands; closing with 4029")]
    public static partial void Flooding(ILogger logger, string client, string? user);

    [LoggerMessage(205, LogLevel.Error, "Client {Client}: command {Type} failed")]
    public static partial void CommandFailed(ILogger logger, Exception exception, string client, string type);

    [LoggerMessage(206, LogLevel.Debug, "Client {Client}: the socket failed")]
    public static partial void SocketFailed(ILogger logger, Exception exception, string client);

    [LoggerMessage(207, LogLevel.Information, "Closing {Count} sockets: the node is shutting down")]
    public static partial void ShuttingDown(ILogger logger, int count);

    [LoggerMessage(208, LogLevel.Warning, "Client {Client} refused: a foreign Origin {Origin}")]
    public static partial void ForeignOrigin(ILogger logger, string client, string origin);

    [LoggerMessage(209, LogLevel.Error, "Client {Client} (user {User}): the session failed; closing with 1011")]
    public static partial void SessionFailed(ILogger logger, Exception exception, string client, string? user);

    [LoggerMessage(210, LogLevel.Warning, "Client {Client}: command {Type} failed because the cluster is unreachable; answered unavailable")]
    public static partial void ClusterUnavailable(ILogger logger, Exception exception, string client, string type);

    [LoggerMessage(211, LogLevel.Error, "Client {Client} (user {User}): the writer failed; the connection is aborted")]
    public static partial void WriterFailed(ILogger logger, Exception exception, string client, string? user);

    [LoggerMessage(212, LogLevel.Information, "Client {Client} (user {User}): close {Code} not finished within {Seconds} s; connection aborted with {QueuedBytes} bytes still queued, socket {State}")]
    public static partial void CloseTimedOut(ILogger logger, string client, string? user, int code, double seconds, long queuedBytes, System.Net.WebSockets.WebSocketState state);

    [LoggerMessage(213, LogLevel.Debug, "Client {Client} (user {User}): a send failed (socket {State}); the connection is broken")]
    public static partial void SendFailed(ILogger logger, Exception exception, string client, string? user, System.Net.WebSockets.WebSocketState state);

    [LoggerMessage(214, LogLevel.Debug, "Client {Client} (user {User}) sent {Count} frames after it was told to go; it is no longer read, and goes at CloseTimeout or when its connection ends")]
    public static partial void NoLongerRead(ILogger logger, string client, string? user, int count);
}
