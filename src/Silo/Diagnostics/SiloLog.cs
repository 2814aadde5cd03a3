using Microsoft.Extensions.Logging;

namespace Realtime.Silo;

internal static partial class SiloLog
{
    [LoggerMessage(1, LogLevel.Debug, "Activated {Grain}")]
    public static partial void Activated(ILogger logger, string grain);

    [LoggerMessage(2, LogLevel.Debug, "Deactivated {Grain}")]
    public static partial void Deactivated(ILogger logger, string grain);

    [LoggerMessage(3, LogLevel.Error, "Grain {Grain} failed to activate")]
    public static partial void ActivationFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(4, LogLevel.Error, "A turn of grain {Grain} failed")]
    public static partial void TurnFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(5, LogLevel.Warning, "Grain {Grain} failed while deactivating")]
    public static partial void DeactivationFailed(ILogger logger, Exception exception, string grain);

    [LoggerMessage(10, LogLevel.Information, "Node {Node} started on the {Engine} engine (jobs: {RunJobs})")]
    public static partial void NodeStarted(ILogger logger, string node, string engine, bool runJobs);

    [LoggerMessage(11, LogLevel.Warning, "Cluster job {Job} failed; it runs again in the next round")]
    public static partial void JobFailed(ILogger logger, Exception exception, string job);

    [LoggerMessage(12, LogLevel.Information, "Delivered {Count} scheduled notifications")]
    public static partial void ScheduledDelivered(ILogger logger, int count);

    [LoggerMessage(13, LogLevel.Warning, "Removed {Count} presence entries of dead nodes")]
    public static partial void DeadPresenceRemoved(ILogger logger, int count);
}
