using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Realtime.Silo.Diagnostics;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Memory;
using Realtime.Silo.Engines.Postgres;
using Realtime.Silo.Jobs;
using Realtime.Silo.Runtime;

namespace Realtime.Silo;

public static class SiloExtensions
{
    /// <summary>
    /// Adds the grain runtime, the configured engine and the cluster jobs. Options are validated at
    /// start-up, so a bad setting stops the node with a message that names its key.
    /// </summary>
    public static IHostApplicationBuilder AddRealtimeSilo(this IHostApplicationBuilder builder, Action<GrainTypeRegistry>? grains = null)
    {
        var services = builder.Services;
        services.AddOptions<RealtimeOptions>().BindSection(RealtimeOptions.Section);
        services.AddOptions<SiloOptions>().BindSection(SiloOptions.Section);
        services.AddOptions<RetentionOptions>().BindSection(RetentionOptions.Section);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RealtimeMetrics>();
        var registry = new GrainTypeRegistry();
        grains?.Invoke(registry);
        services.AddSingleton(registry);

        var engine = builder.Configuration[$"{RealtimeOptions.Section}:Engine"] ?? RealtimeOptions.MemoryEngine;
        switch (engine)
        {
            case RealtimeOptions.MemoryEngine:
                services.TryAddSingleton<IRealtimeEngine, MemoryEngine>();
                break;
            case RealtimeOptions.PostgresEngine:
                services.AddOptions<PostgresOptions>().BindSection(PostgresOptions.Section);
                services.TryAddSingleton<IRealtimeEngine, PostgresEngine>();
                break;
            default:
                throw new InvalidOperationException(
                    $"Realtime:Engine is '{engine}'; it must be '{RealtimeOptions.MemoryEngine}' or '{RealtimeOptions.PostgresEngine}'.");
        }

        services.AddSingleton<IStreamProvider>(sp => sp.GetRequiredService<IRealtimeEngine>());
        services.AddHostedService<EngineHost>();
        services.AddSingleton<GrainRuntime>();
        services.AddSingleton<IGrainFactory>(sp => sp.GetRequiredService<GrainRuntime>());
        services.AddHostedService(sp => sp.GetRequiredService<GrainRuntime>());
        services.AddSingleton<ClusterJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterJobs>());
        return builder;
    }
}
