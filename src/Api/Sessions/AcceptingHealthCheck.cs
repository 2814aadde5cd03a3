using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Realtime.Api.Sessions;

/// <summary>Not ready once the node began shutting down, so load balancers stop sending it clients.</summary>
internal sealed class AcceptingHealthCheck(SessionRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(registry.IsStopping ? HealthCheckResult.Unhealthy("shutting down") : HealthCheckResult.Healthy("accepting sockets"));
}
