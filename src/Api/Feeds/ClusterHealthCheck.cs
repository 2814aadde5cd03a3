using Microsoft.Extensions.Diagnostics.HealthChecks;
using Realtime.Contracts.Grains;

namespace Realtime.Api.Feeds;

/// <summary>Ready while this front end reads its streams and a silo answers that it reaches the store: a front
/// end cut off from the cluster, or a cluster cut off from PostgreSQL, takes no new clients.</summary>
internal sealed class ClusterHealthCheck(IClusterClient cluster, FrontEnd frontEnd) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!frontEnd.IsSubscribed)
        {
            return HealthCheckResult.Unhealthy("not subscribed to its streams (no gateway reached yet?)");
        }

        try
        {
            var ready = await cluster.GetGrain<IStoreHealthGrain>(0).IsReadyAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
            return ready ? HealthCheckResult.Healthy("cluster and store reachable") : HealthCheckResult.Unhealthy("the store is unreachable");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("the cluster is unreachable", e);
        }
    }
}
