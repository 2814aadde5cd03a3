using Realtime.Contracts.Grains;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Tests.Runtime.Grains;

public interface ITimerGrain : IGrainWithStringKey
{
    Task StartTimerAsync(TimeSpan period);

    /// <summary>A turn that spends a little time awaiting, to give a timer tick the chance to overlap it.</summary>
    Task BusyAsync();

    Task DeactivateAsync();
}

public sealed class TimerGrain(GrainProbe probe) : Grain, ITimerGrain
{
    private readonly TurnGuard _guard = new(probe);

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

    public Task StartTimerAsync(TimeSpan period)
    {
        RegisterTimer(() => _guard.RunAsync(async () =>
        {
            probe.RecordTick(GrainKey);
            await Task.Delay(1);
        }), period, period);
        return Task.CompletedTask;
    }

    public Task BusyAsync() => _guard.RunAsync(() => Task.Delay(2));

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
