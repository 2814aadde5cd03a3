using Orleans.Messaging;

namespace Realtime.Api.Feeds;

/// <summary>Failures of the cluster itself (no silo answers, a silo died mid-call, the gateway is gone): the caller is
/// told <c>unavailable</c> (REST 503) and may try again, since nothing was acknowledged.</summary>
internal static class ClusterErrors
{
    public static bool IsUnavailable(Exception e) => e switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or ClientNotAvailableException => true,
        TimeoutException or GatewayTooBusyException => true,
        AggregateException { InnerException: { } inner } => IsUnavailable(inner),
        _ => false,
    };
}
