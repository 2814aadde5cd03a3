using Microsoft.Extensions.Logging;

namespace Realtime.Grains;

internal static partial class GrainsLog
{
    [LoggerMessage(100, LogLevel.Warning, "Channel {Channel}: could not remove a presence entry; the node heartbeat will expire it")]
    public static partial void PresenceCleanupFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(101, LogLevel.Warning, "Channel {Channel}: epoch changed from {Old} to {New}; subscribers recovering from the old epoch get recovered:false")]
    public static partial void EpochChanged(ILogger logger, string channel, string old, string @new);

    [LoggerMessage(102, LogLevel.Error, "Channel {Channel}: could not refill the gap after offset {Delivered} up to {UpTo}")]
    public static partial void GapRefillFailed(ILogger logger, Exception exception, string channel, long delivered, long upTo);

    [LoggerMessage(103, LogLevel.Error, "Channel {Channel}: offsets after {Delivered} up to {UpTo} are no longer in history; subscribers see a jump")]
    public static partial void GapNotFilled(ILogger logger, string channel, long delivered, long upTo);
}
