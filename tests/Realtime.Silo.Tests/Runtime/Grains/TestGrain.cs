using Realtime.Contracts.Grains;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Tests.Runtime.Grains;

public interface ITestGrain : IGrainWithStringKey
{
    Task<string> GetKeyAsync();

    Task<int> IncrementAsync();

    /// <summary>Reads the counter, awaits, then writes it back: correct only if turns never overlap.</summary>
    Task<int> SlowIncrementAsync();

    Task FailAsync(string message);

    Task DeactivateAsync();

    /// <summary>Answers and asks to be deactivated, so every call races a deactivation.</summary>
    Task<string> EchoAndDeactivateAsync(int value);

    /// <summary>Signals the probe that it entered, then awaits the probe's gate for this key.</summary>
    Task HoldAsync();

    [AlwaysInterleave]
    Task<string> PingAsync();
}

public sealed class TestGrain(GrainProbe probe) : Grain, ITestGrain
{
    private readonly TurnGuard _guard = new(probe);
    private int _count;

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

    public Task<string> GetKeyAsync() => Task.FromResult(GrainKey);

    public Task<int> IncrementAsync() => Task.FromResult(++_count);

    public async Task<int> SlowIncrementAsync()
    {
        var result = 0;
        await _guard.RunAsync(async () =>
        {
            var seen = _count;
            await Task.Delay(1);
            _count = seen + 1;
            result = _count;
        });
        return result;
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task<string> EchoAndDeactivateAsync(int value)
    {
        DeactivateOnIdle();
        return Task.FromResult($"{GrainKey}/{value}");
    }

    public async Task HoldAsync()
    {
        probe.Entered(GrainKey).TrySetResult();
        await probe.Gate(GrainKey).Task;
    }

    public Task<string> PingAsync() => Task.FromResult("pong");
}
