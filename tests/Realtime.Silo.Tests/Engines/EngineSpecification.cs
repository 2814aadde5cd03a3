using System.Text;
using Realtime.Contracts.Channels;
using Realtime.Grains.Stores;

namespace Realtime.Silo.Tests.Engines;

/// <summary>
/// The behaviour every <see cref="IRealtimeStore"/> must have (SPEC §5). Each engine runs the whole
/// suite through a subclass. Tests use only the interface and names unique to the test, so engines
/// backed by a shared store (one database for the whole run) can run it too.
/// </summary>
public abstract partial class EngineSpecification : IAsyncLifetime
{
    /// <summary>The retention every engine in the suite is created with.</summary>
    protected static readonly RetentionOptions Retention = new()
    {
        InboxMaxItems = 5,
        InboxTtl = TimeSpan.FromHours(1),
        IdempotencyTtl = TimeSpan.FromHours(1),
    };

    private static readonly TimeSpan HistoryTtl = TimeSpan.FromHours(1);
    private readonly List<IRealtimeStore> _engines = [];
    private IRealtimeStore? _engine;

    /// <summary>Starts at the real time, so rows an engine stores stay plausible next to other tests' rows.</summary>
    protected ManualTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The engine of the node under test.</summary>
    protected IRealtimeStore Engine => _engine ?? throw new InvalidOperationException("the engine is not started");

    /// <summary>Creates and starts an engine with the given retention and clock.</summary>
    protected abstract Task<IRealtimeStore> CreateEngineAsync(RetentionOptions retention, TimeProvider clock);

    /// <summary>Creates and starts a second node on the same backing store as <paramref name="first"/>.
    /// An engine that lives in one process may return <paramref name="first"/> itself.</summary>
    protected abstract Task<IRealtimeStore> CreateSecondNodeAsync(IRealtimeStore first, RetentionOptions retention, TimeProvider clock);

    public async Task InitializeAsync()
    {
        _engine = await CreateEngineAsync(Retention, Clock);
        _engines.Add(_engine);
    }

    public async Task DisposeAsync()
    {
        foreach (var engine in _engines.Distinct().Reverse())
        {
            await engine.StopAsync(CancellationToken.None);
        }
    }

    protected async Task<IRealtimeStore> SecondNodeAsync()
    {
        var second = await CreateSecondNodeAsync(Engine, Retention, Clock);
        _engines.Add(second);
        return second;
    }

    protected static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    protected static byte[] Json(int n) => Encoding.UTF8.GetBytes($$"""{"n":{{n}}}""");

    protected static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    protected Task<AppendResult> AppendAsync(string channel, int n, int historySize = 1000, TimeSpan? historyTtl = null, string? idempotencyKey = null) =>
        Engine.AppendAsync(new AppendRequest(channel, "alice", Json(n), historySize, historyTtl ?? HistoryTtl, idempotencyKey), CancellationToken.None);

    protected Task<HistoryPage> HistoryAsync(string channel, int limit = 100, long? after = null, long? before = null) =>
        Engine.ReadHistoryAsync(channel, new HistoryQuery(limit, after, before), CancellationToken.None);

    protected static IEnumerable<long> Offsets(HistoryPage page) => page.Messages.Select(m => m.Offset);

    protected static IEnumerable<long> Range(long from, long to) =>
        Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (long)i);

    [Fact]
    public async Task A_started_engine_is_ready()
    {
        Assert.True(await Engine.IsReadyAsync(CancellationToken.None));
        Assert.False(string.IsNullOrEmpty(Engine.Name));
    }
}
