using Microsoft.Extensions.Hosting;

namespace Realtime.Silo.Engines;

/// <summary>Starts the engine before anything uses it and stops it last.</summary>
internal sealed class EngineHost(IRealtimeEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
