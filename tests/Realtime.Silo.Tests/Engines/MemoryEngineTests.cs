using Microsoft.Extensions.Options;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Memory;

namespace Realtime.Silo.Tests.Engines;

public sealed class MemoryEngineTests : EngineSpecification
{
    protected override async Task<IRealtimeEngine> CreateEngineAsync(RetentionOptions retention, TimeProvider clock)
    {
        var engine = new MemoryEngine(Options.Create(retention), clock);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }

    // The memory engine is one process: a second node on the same store is the same engine.
    protected override Task<IRealtimeEngine> CreateSecondNodeAsync(IRealtimeEngine first, RetentionOptions retention, TimeProvider clock) =>
        Task.FromResult(first);
}
