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

    /// <summary>Throws before returning a task, so the call's task must carry the failure.</summary>
    [AlwaysInterleave]
    Task<string> FailInterleavedAsync(string message);
}

/// <summary>A written reference to <see cref="TestGrain"/>, as Realtime.Grains has for its grains; the
/// runtime tests run through it and through <see cref="GrainProxy"/> alike.</summary>
public sealed class TestGrainReference(GrainRuntime runtime, GrainId id) : GrainReference(runtime, id), ITestGrain
{
    private static readonly bool PingInterleaves = Interleaves<ITestGrain>(nameof(PingAsync));
    private static readonly bool FailInterleavedInterleaves = Interleaves<ITestGrain>(nameof(FailInterleavedAsync));

    public Task<string> GetKeyAsync() => Call(static (ITestGrain g, object? _) => g.GetKeyAsync(), null, interleaves: false);

    public Task<int> IncrementAsync() => Call(static (ITestGrain g, object? _) => g.IncrementAsync(), null, interleaves: false);

    public Task<int> SlowIncrementAsync() => Call(static (ITestGrain g, object? _) => g.SlowIncrementAsync(), null, interleaves: false);

    public Task FailAsync(string message) => Call(static (ITestGrain g, string m) => g.FailAsync(m), message, interleaves: false);

    public Task DeactivateAsync() => Call(static (ITestGrain g, object? _) => g.DeactivateAsync(), null, interleaves: false);

    public Task<string> EchoAndDeactivateAsync(int value) =>
        Call(static (ITestGrain g, int v) => g.EchoAndDeactivateAsync(v), value, interleaves: false);

    public Task HoldAsync() => Call(static (ITestGrain g, object? _) => g.HoldAsync(), null, interleaves: false);

    public Task<string> PingAsync() => Call(static (ITestGrain g, object? _) => g.PingAsync(), null, PingInterleaves);

    public Task<string> FailInterleavedAsync(string message) =>
        Call(static (ITestGrain g, string m) => g.FailInterleavedAsync(m), message, FailInterleavedInterleaves);
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

    public Task<string> FailInterleavedAsync(string message) => throw new InvalidOperationException(message);
}
