using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.TestingHost;
using Realtime.Contracts.Streams;
using Realtime.Grains;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Memory;
using Realtime.Silo;

namespace Realtime.Silo.Tests.Grains;

/// <summary>
/// Two silos (Orleans' in-process test cluster) hosting the Realtime grains with the providers the product
/// uses on the memory engine, one memory store shared by both (as PostgreSQL is shared in a cluster), and a
/// client that reads streams as a front end does.
/// </summary>
public sealed class GrainCluster : IAsyncDisposable
{
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["Realtime:Engine"] = "memory",
        // Tests call the grains as a front end would but do not renew its members every heartbeat: leases that
        // outlast any test, so none ends on a loaded machine (200 subscribes storing on a slow serialiser once took
        // longer than the 1.5 s used before, and every member left). The lease test sets its own.
        ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.200",
        ["Realtime:Silo:NodeTimeout"] = "00:05:00",
        ["Realtime:Orleans:StreamPollingPeriod"] = "00:00:00.010",
    };

    private GrainCluster(InProcessTestCluster cluster) => Cluster = cluster;

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    public static async Task<GrainCluster> StartAsync(IDictionary<string, string?>? settings = null, Action<ISiloBuilder>? configureSilo = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var store = new MemoryEngine(Options.Create(new RetentionOptions()), TimeProvider.System);
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Configuration.AddConfiguration(configuration);
            host.Services.AddSingleton<IRealtimeStore>(store);
            host.AddRealtimeStore();
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRealtimeProviders(configuration);
            configureSilo?.Invoke(silo);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(RealtimeStreams.Provider, s => s.ConfigurePartitioning(4)));
        var cluster = builder.Build();
        await cluster.DeployAsync();

        // DeployAsync waits until each silo counts both as active, not until the grain directory has settled: a call
        // made before that can activate a grain a second time on the other silo.
        await cluster.WaitForLivenessToStabilizeAsync();
        return new GrainCluster(cluster);
    }

    /// <summary>Reads a front end's streams (all partitions), as <c>FrontEnd</c> does, and keeps every event.</summary>
    public async Task<EventLog> ReadFrontEndAsync(string frontEnd)
    {
        var log = new EventLog();
        var provider = Client.GetStreamProvider(RealtimeStreams.Provider);
        for (var partition = 0; partition < RealtimeStreams.Partitions; partition++)
        {
            await provider.GetStream<RealtimeEvent>(RealtimeStreams.ForFrontEnd(frontEnd, partition)).SubscribeAsync(log);
        }

        return log;
    }

    /// <summary>Reads every user stream, as every front end does.</summary>
    public async Task<EventLog> ReadUsersAsync()
    {
        var log = new EventLog();
        var provider = Client.GetStreamProvider(RealtimeStreams.Provider);
        for (var partition = 0; partition < RealtimeStreams.Partitions; partition++)
        {
            await provider.GetStream<RealtimeEvent>(RealtimeStreams.ForUsers(partition)).SubscribeAsync(log);
        }

        return log;
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>Events in arrival order.</summary>
    public sealed class EventLog : IAsyncObserver<RealtimeEvent>
    {
        private readonly ConcurrentQueue<RealtimeEvent> _events = new();

        public IReadOnlyList<RealtimeEvent> Events => _events.ToArray();

        public IEnumerable<T> Of<T>() => _events.OfType<T>();

        public Task OnNextAsync(RealtimeEvent item, StreamSequenceToken? token = null)
        {
            _events.Enqueue(item);
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync() => Task.CompletedTask;

        public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
    }
}
