using Microsoft.Extensions.Diagnostics.HealthChecks;
using Realtime.Grains.Stores;

namespace Realtime.Grains.Diagnostics;

/// <summary>Ready only while the engine answers: a load balancer then sends new clients elsewhere.</summary>
public sealed class EngineHealthCheck(IRealtimeStore engine) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            return await engine.IsReadyAsync(timeout.Token)
                ? HealthCheckResult.Healthy($"{engine.Name} engine reachable")
                : HealthCheckResult.Unhealthy($"{engine.Name} engine unreachable");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy($"{engine.Name} engine unreachable", e);
        }
    }
}
