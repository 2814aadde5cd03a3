using Microsoft.Extensions.Logging;

namespace Realtime.Api.Feeds;

internal static partial class FeedsLog
{
    [LoggerMessage(400, LogLevel.Information, "Front end {FrontEnd} reads its streams ({Count} subscriptions)")]
    public static partial void Subscribed(ILogger logger, string frontEnd, int count);

    [LoggerMessage(401, LogLevel.Warning, "Front end {FrontEnd}: stream {Stream} had lost its subscription (a failed delivery drops it); subscribed again")]
    public static partial void Resubscribed(ILogger logger, string frontEnd, string stream);

    [LoggerMessage(402, LogLevel.Warning, "Front end {FrontEnd}: checking the stream subscriptions failed; trying again next heartbeat")]
    public static partial void CheckFailed(ILogger logger, Exception exception, string frontEnd);

    [LoggerMessage(403, LogLevel.Warning, "Channel {Channel}: renewing this front end's members failed; trying again next heartbeat")]
    public static partial void RenewFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(404, LogLevel.Information, "Channel {Channel}: the epoch changed from {Old} to {New}; subscribers recovering from the old epoch get recovered:false")]
    public static partial void EpochChanged(ILogger logger, string channel, string? old, string @new);

    [LoggerMessage(405, LogLevel.Error, "Channel {Channel}: could not refill the gap after offset {Delivered} up to {UpTo}; subscribers are told to subscribe again")]
    public static partial void GapRefillFailed(ILogger logger, Exception exception, string channel, long delivered, long upTo);

    [LoggerMessage(406, LogLevel.Error, "Channel {Channel}: offsets after {Delivered} up to {UpTo} are no longer in history; subscribers are told to subscribe again")]
    public static partial void GapNotFilled(ILogger logger, string channel, long delivered, long upTo);

    [LoggerMessage(407, LogLevel.Information, "Channel {Channel}: refilled {Count} messages the stream had not brought (up to offset {UpTo})")]
    public static partial void CaughtUp(ILogger logger, string channel, int count, long upTo);

    [LoggerMessage(408, LogLevel.Warning, "Stream {Stream} reported an error to front end {FrontEnd}")]
    public static partial void StreamError(ILogger logger, Exception exception, string frontEnd, string stream);

    [LoggerMessage(411, LogLevel.Information, "Channel {Channel}: the stream has not brought offsets after {Delivered} up to {UpTo}; reading them from history")]
    public static partial void Refilling(ILogger logger, string channel, long delivered, long upTo);

    [LoggerMessage(412, LogLevel.Error, "Channel {Channel}: reading a gap from history failed unexpectedly; the next message or renewal tries again")]
    public static partial void RefillCrashed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(413, LogLevel.Warning, "Channel {Channel}: reading offsets after {Delivered} up to {UpTo} from history failed (attempt {Attempt}); the messages after them wait")]
    public static partial void RefillRetrying(ILogger logger, Exception exception, string channel, long delivered, long upTo, int attempt);

    [LoggerMessage(410, LogLevel.Warning, "Channel {Channel}: telling the grain that client {Client} left failed; the next renewal, which no longer lists it, removes it")]
    public static partial void LeaveFailed(ILogger logger, Exception exception, string channel, string client);

    [LoggerMessage(409, LogLevel.Warning, "Front end {FrontEnd}: reporting to the node directory failed")]
    public static partial void ReportFailed(ILogger logger, Exception exception, string frontEnd);
}
