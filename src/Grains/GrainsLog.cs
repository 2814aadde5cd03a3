using Microsoft.Extensions.Logging;

namespace Realtime.Grains;

internal static partial class GrainsLog
{
    [LoggerMessage(100, LogLevel.Warning, "Channel {Channel}: could not save its members; tried again at the next lease check")]
    public static partial void MembersNotSaved(ILogger logger, Exception exception, string channel);

    [LoggerMessage(101, LogLevel.Warning, "Channel {Channel}: could not push an event to the front ends; they refill from history")]
    public static partial void PushFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(102, LogLevel.Information, "Channel {Channel}: {Count} members left because their front end stopped renewing ({FrontEnds})")]
    public static partial void LeaseExpired(ILogger logger, string channel, int count, string frontEnds);

    [LoggerMessage(103, LogLevel.Warning, "User {User}: could not push an event to the front ends")]
    public static partial void UserPushFailed(ILogger logger, Exception exception, string user);

    [LoggerMessage(104, LogLevel.Information, "User {User}: delivered {Count} scheduled notifications")]
    public static partial void ScheduledDelivered(ILogger logger, string user, int count);

    [LoggerMessage(105, LogLevel.Warning, "Retention failed; it runs again at the next reminder")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(106, LogLevel.Warning, "Channel {Channel}: the node directory did not answer; late front ends wait for the node timeout")]
    public static partial void DirectoryUnreachable(ILogger logger, Exception exception, string channel);

    [LoggerMessage(107, LogLevel.Warning, "Channel {Channel}: another activation wrote its members and reading them back failed; the next failed write reads them again")]
    public static partial void StoredMembersNotRead(ILogger logger, Exception exception, string channel);
}
