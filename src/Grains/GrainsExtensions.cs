using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Realtime.Grains.Channels;
using Realtime.Grains.Diagnostics;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Memory;
using Realtime.Grains.Stores.Postgres;

namespace Realtime.Grains;

public static class GrainsExtensions
{
    /// <summary>Settings every Realtime process reads (silo or front end), validated at start-up so a bad
    /// setting stops the process with a message that names its key.</summary>
    public static IHostApplicationBuilder AddRealtimeOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRealtimeOptions();

        // Orleans routes each grain call through a Polly pipeline that logs every attempt, and every retry with a stack.
        builder.Logging.AddFilter("Polly", LogLevel.Error);
        return builder;
    }

    public static IServiceCollection AddRealtimeOptions(this IServiceCollection services)
    {
        services.AddOptions<RealtimeOptions>().BindSection(RealtimeOptions.Section);
        services.AddOptions<OrleansOptions>().BindSection(OrleansOptions.Section);
        services.AddOptions<SiloOptions>().BindSection(SiloOptions.Section);
        services.AddOptions<NamespacesOptions>().BindSection(NamespacesOptions.Section);
        services.AddOptions<LimitsOptions>().BindSection(LimitsOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RealtimeMetrics>();
        services.TryAddSingleton<ChannelAccess>();
        return services;
    }

    /// <summary>What the grains need on a silo: the configured store (<c>Realtime:Engine</c>), started before
    /// Orleans (so the PostgreSQL schema, Orleans' tables included, exists when the silo joins) and stopped after it.
    /// Call before <c>UseOrleans</c>: hosted services start in the order they are added.</summary>
    public static IHostApplicationBuilder AddRealtimeStore(this IHostApplicationBuilder builder)
    {
        builder.AddRealtimeOptions();
        builder.Services.AddRealtimeStore(builder.Configuration);
        return builder;
    }

    public static IServiceCollection AddRealtimeStore(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddRealtimeOptions();
        services.AddOptions<RetentionOptions>().BindSection(RetentionOptions.Section);
        switch (RealtimeOptions.EngineOf(configuration))
        {
            case RealtimeOptions.MemoryEngine:
                services.TryAddSingleton<IRealtimeStore, MemoryEngine>();
                break;
            case RealtimeOptions.PostgresEngine:
                services.AddOptions<PostgresOptions>().BindSection(PostgresOptions.Section);
                services.TryAddSingleton<IRealtimeStore, PostgresEngine>();
                break;
        }

        services.AddSingleton<IChannelLog>(sp => sp.GetRequiredService<IRealtimeStore>());
        services.AddSingleton<IUserInbox>(sp => sp.GetRequiredService<IRealtimeStore>());
        services.AddHostedService<EngineHost>();
        return services;
    }
}
