using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.TestingHost;
using Realtime.Grains;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Memory;
using Realtime.Silo;
using Realtime.Testing;
using OrleansTestCluster = Orleans.TestingHost.TestCluster;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// Silos of Orleans' TestingHost (over real TCP, so an Orleans client in another host can join), hosting the
/// Realtime grains on the memory engine with one store shared by every silo, as PostgreSQL is in a cluster.
/// Front ends join it with <see cref="StartFrontEndAsync"/>: real Kestrel, Realtime:Orleans:Role=client.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    // The configurators are created by type, so the store they share is reached through a static.
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, MemoryEngine> Stores = [];

    private SiloCluster(OrleansTestCluster cluster) => Cluster = cluster;

    public OrleansTestCluster Cluster { get; }

    public string ClusterId => Cluster.Options.ClusterId;

    public static async Task<SiloCluster> StartAsync(short silos = 2)
    {
        var builder = new TestClusterBuilder(silos);
        builder.Options.ServiceId = OrleansOptions.ServiceId;
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Properties["Realtime:Engine"] = "memory";
        builder.Properties["Realtime:Silo:HeartbeatInterval"] = "00:00:00.250";
        builder.Properties["Realtime:Silo:NodeTimeout"] = "00:00:04";
        builder.AddSiloBuilderConfigurator<Configurator>();
        var cluster = builder.Build();
        lock (Gate)
        {
            Stores[cluster.Options.ClusterId] = new MemoryEngine(Options.Create(new RetentionOptions()), TimeProvider.System);
        }

        await cluster.DeployAsync();
        // Until every silo sees the others and the grain directory agrees, a grain called through two silos can be
        // activated on both: a test would read a second, empty activation.
        await cluster.WaitForLivenessToStabilizeAsync();
        return new SiloCluster(cluster);
    }

    /// <summary>A front end (real Kestrel, an Orleans client of these silos) through the primary silo's gateway.</summary>
    public Task<RealtimeServer> StartFrontEndAsync(string nodeId, IDictionary<string, string?>? settings = null)
    {
        var gateway = Cluster.Primary!.GatewayAddress!.Endpoint.Port;
        var merged = new Dictionary<string, string?>
        {
            ["Realtime:NodeId"] = nodeId,
            ["Realtime:Orleans:Role"] = "client",
            ["Realtime:Orleans:ClusterId"] = ClusterId,
            ["Realtime:Orleans:GatewayPort"] = gateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.250",
            ["Realtime:Silo:NodeTimeout"] = "00:00:04",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return RealtimeServer.StartAsync(merged);
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        lock (Gate)
        {
            Stores.Remove(ClusterId);
        }
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            MemoryEngine store;
            lock (Gate)
            {
                store = Stores[silo.Configuration["Orleans:ClusterId"]!];
            }

            silo.Services.AddSingleton<IRealtimeStore>(store);
            silo.Services.AddRealtimeStore(silo.Configuration);
            silo.AddRealtimeProviders(silo.Configuration);
        }
    }
}
