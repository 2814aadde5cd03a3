using Realtime.Contracts.Grains;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Tests.Runtime.Grains;

public interface IPinnedGrain : IGrainWithStringKey
{
    /// <summary>While pinned, the grain refuses idle deactivation, as a grain serving sockets does.</summary>
    Task SetPinnedAsync(bool pinned);
}

public sealed class PinnedGrain(GrainProbe probe) : Grain, IPinnedGrain
{
    private bool _pinned;

    protected internal override bool CanDeactivateOnIdle => !_pinned;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.RecordActivation(GrainKey);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(CancellationToken cancellationToken)
    {
        probe.RecordDeactivation(GrainKey);
        return Task.CompletedTask;
    }

    public Task SetPinnedAsync(bool pinned)
    {
        _pinned = pinned;
        return Task.CompletedTask;
    }
}
