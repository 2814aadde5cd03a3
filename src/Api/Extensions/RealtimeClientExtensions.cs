using Orleans.Configuration;
using Realtime.Api.Feeds;
using Realtime.Contracts.Streams;
using Realtime.Grains;
using Realtime.Grains.Stores.Postgres;

namespace Realtime.Api.Extensions;

public static class RealtimeClientExtensions
{
    /// <summary>Joins the silos of the cluster as an Orleans client: the gateways listed in PostgreSQL's membership
    /// table (postgres engine) or the local silo's gateway (memory engine). Keeps trying to connect for
    /// <c>Realtime:Postgres:StartupTimeout</c> (60 s), since front ends often start beside their silos.</summary>
    public static IClientBuilder AddRealtime(this IClientBuilder client, IConfiguration configuration)
    {
        var orleans = configuration.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        if (RealtimeOptions.EngineOf(configuration) == RealtimeOptions.MemoryEngine)
        {
            client.UseLocalhostClustering(orleans.GatewayPort ?? EndpointOptions.DEFAULT_GATEWAY_PORT, OrleansOptions.ServiceId, orleans.ClusterId);
        }
        else
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (orleans.ClusterId, OrleansOptions.ServiceId));
            var connectionString = PostgresEngine.ForOrleansProviders(configuration["Realtime:Postgres:ConnectionString"]);
            client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connectionString));
        }

        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = orleans.ResponseTimeout ?? OrleansOptions.ClientResponseTimeout);
        client.AddMemoryStreams(RealtimeStreams.Provider, streams => streams.ConfigurePartitioning(orleans.StreamQueues));

        var patience = configuration.GetValue("Realtime:Postgres:StartupTimeout", TimeSpan.FromSeconds(60));
        var giveUpAt = DateTime.UtcNow + patience;
        client.UseConnectionRetryFilter(async (_, cancellationToken) =>
        {
            if (DateTime.UtcNow >= giveUpAt)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return true;
        });

        // A gateway came or went: check the stream subscriptions now rather than at the next heartbeat.
        client.AddGatewayCountChangedHandler(services => (_, _) => services.GetService<FrontEnd>()?.Nudge());
        return client;
    }
}
