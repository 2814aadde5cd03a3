using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Dashboard;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;
using Realtime.Grains;
using Realtime.Grains.Stores.Postgres;
using TimingOptions = Realtime.Grains.SiloOptions;

namespace Realtime.Silo;

public static class RealtimeSiloExtensions
{
    /// <summary>The store, then an Orleans silo hosting the grains. The store comes first so that it starts
    /// (and creates the PostgreSQL schema, Orleans' tables included) before the silo joins the cluster.</summary>
    public static IHostApplicationBuilder AddRealtimeSilo(this IHostApplicationBuilder builder)
    {
        builder.AddRealtimeStore();
        builder.UseOrleans(silo => silo.AddRealtime(builder.Configuration, builder.Environment));
        return builder;
    }

    /// <summary>Clustering in memory (localhost) or on PostgreSQL (ADO.NET, invariant <c>Npgsql</c>) as
    /// <c>Realtime:Engine</c> says, with <see cref="AddRealtimeProviders"/>, and the dashboard when
    /// <c>Realtime:Orleans:Dashboard</c> (or Development) asks for it.</summary>
    public static ISiloBuilder AddRealtime(this ISiloBuilder silo, IConfiguration configuration, IHostEnvironment environment)
    {
        var orleans = configuration.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        if (RealtimeOptions.EngineOf(configuration) == RealtimeOptions.MemoryEngine)
        {
            // One process: Orleans' localhost defaults, so a local silo and a local client find each other.
            silo.UseLocalhostClustering(orleans.SiloPort ?? EndpointOptions.DEFAULT_SILO_PORT, orleans.GatewayPort ?? EndpointOptions.DEFAULT_GATEWAY_PORT,
                serviceId: OrleansOptions.ServiceId, clusterId: orleans.ClusterId);
        }
        else
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (orleans.ClusterId, OrleansOptions.ServiceId));
            var connectionString = PostgresEngine.ForOrleansProviders(configuration[$"{PostgresOptions.Section}:ConnectionString"]);
            silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (OrleansAdoNet.Invariant, connectionString));

            // Membership publishes each silo's endpoints, so free ports let several nodes share a machine unconfigured.
            var address = orleans.AdvertisedIPAddress is { Length: > 0 } configured ? IPAddress.Parse(configured) : null;
            silo.Configure<EndpointOptions>(o =>
            {
                o.SiloPort = orleans.SiloPort ?? FreePort();
                o.GatewayPort = orleans.GatewayPort ?? FreePort();
                if (address is not null)
                {
                    o.AdvertisedIPAddress = address;
                }
            });
        }

        // Failure detection. Orleans' defaults take up to a minute to declare a killed silo dead, and until then calls
        // to its grains wait or fail; a realtime backend promises its subscribers every message within 10 s of a
        // silo's death (SPEC §9.7), so probes time out after 2 s and three missed ones suspect the silo. Every
        // setting of Orleans' ClusterMembershipOptions can be changed under Realtime:Orleans:Membership.
        silo.Configure<ClusterMembershipOptions>(o => (o.ProbeTimeout, o.NumMissedProbesLimit) = (TimeSpan.FromSeconds(2), 3));
        silo.Configure<ClusterMembershipOptions>(configuration.GetSection($"{OrleansOptions.Section}:Membership"));
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = orleans.ResponseTimeout ?? OrleansOptions.SiloResponseTimeout);
        silo.AddRealtimeProviders(configuration);
        if (orleans.Dashboard ?? environment.IsDevelopment())
        {
            silo.AddDashboard();
            silo.Services.AddSingleton<DashboardExtensions.Enabled>();
        }

        return silo;
    }

    /// <summary>What the grains need beyond clustering: grain storage (with <c>PubSubStore</c>) and reminders in memory
    /// or on PostgreSQL, the stream provider, idle collection, and the retention reminder. A test cluster that brings
    /// its own membership adds only this.</summary>
    public static ISiloBuilder AddRealtimeProviders(this ISiloBuilder silo, IConfiguration configuration)
    {
        var orleans = configuration.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        var timing = configuration.GetSection(TimingOptions.Section).Get<TimingOptions>() ?? new TimingOptions();
        if (RealtimeOptions.EngineOf(configuration) == RealtimeOptions.MemoryEngine)
        {
            silo.AddMemoryGrainStorage(RealtimeProviders.Storage);
            silo.AddMemoryGrainStorage(RealtimeProviders.PubSubStore);
            silo.UseInMemoryReminderService();
        }
        else
        {
            var connectionString = PostgresEngine.ForOrleansProviders(configuration[$"{PostgresOptions.Section}:ConnectionString"]);
            silo.AddAdoNetGrainStorage(RealtimeProviders.Storage, o => (o.Invariant, o.ConnectionString) = (OrleansAdoNet.Invariant, connectionString));
            silo.AddAdoNetGrainStorage(RealtimeProviders.PubSubStore, o => (o.Invariant, o.ConnectionString) = (OrleansAdoNet.Invariant, connectionString));
            silo.UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (OrleansAdoNet.Invariant, connectionString));
        }

        silo.AddMemoryStreams(RealtimeStreams.Provider, streams =>
        {
            streams.ConfigurePartitioning(orleans.StreamQueues);

            // The cache behind each queue keeps events for rewinding subscribers; Orleans' defaults keep each one at least
            // 5 minutes (until 30 minutes newer have come), which under load is a heap of millions of events and
            // collections that stall the node for seconds. Front ends never rewind: one that falls this far behind is
            // moved to the newest event and refills from history.
            streams.ConfigureCacheEviction(eviction => eviction.Configure(o => (o.DataMinTimeInCache, o.DataMaxAgeInCache) = (StreamCacheTime, StreamCacheTime)));
            streams.ConfigurePullingAgent(agent => agent.Configure(o => (o.GetQueueMsgsTimerPeriod, o.BatchContainerBatchSize) = (orleans.StreamPollingPeriod, orleans.StreamBatchSize)));
        });

        // Out-of-range values are left to Realtime's own validation, whose message names the setting.
        if (timing.IdleTimeout >= TimeSpan.FromMinutes(1) && timing.CollectionInterval > TimeSpan.Zero && timing.CollectionInterval < timing.IdleTimeout)
        {
            silo.Configure<GrainCollectionOptions>(o => (o.CollectionAge, o.CollectionQuantum) = (timing.IdleTimeout, timing.CollectionInterval));
        }
        silo.AddStartupTask(static (services, _) => services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).StartAsync());
        return silo;
    }

    private static readonly TimeSpan StreamCacheTime = TimeSpan.FromSeconds(10);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
