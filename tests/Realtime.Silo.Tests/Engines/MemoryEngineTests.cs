using Microsoft.Extensions.Options;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Memory;

namespace Realtime.Silo.Tests.Engines;

public sealed class MemoryEngineTests : EngineSpecification
{
    protected override async Task<IRealtimeStore> CreateEngineAsync(RetentionOptions retention, TimeProvider clock)
    {
        var engine = new MemoryEngine(Options.Create(retention), clock);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }

    // The memory engine is one process: a second node on the same store is the same engine.
    protected override Task<IRealtimeStore> CreateSecondNodeAsync(IRealtimeStore first, RetentionOptions retention, TimeProvider clock) =>
        Task.FromResult(first);
}
