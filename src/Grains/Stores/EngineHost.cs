using Microsoft.Extensions.Hosting;

namespace Realtime.Grains.Stores;

/// <summary>Starts the store before Orleans (hosted services start in order) and stops it after.</summary>
internal sealed class EngineHost(IRealtimeStore engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
