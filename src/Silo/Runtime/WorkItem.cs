using System.Reflection;
using Realtime.Contracts.Streams;

namespace Realtime.Silo.Runtime;

/// <summary>One turn in an activation's mailbox.</summary>
internal abstract class WorkItem
{
    /// <summary>True for turns that count as use of the grain (calls), false for timers and streams.</summary>
    public virtual bool KeepsAlive => false;

    /// <summary>True for calls that may run beside the current turn (<c>[AlwaysInterleave]</c>).</summary>
    public virtual bool Interleaves => false;

    public abstract Task RunAsync(Grain grain);

    /// <summary>Called when the turn can no longer run on this activation.</summary>
    public virtual void Abandon(GrainRuntime runtime, GrainId id, Exception? reason) { }
}

/// <summary>A call made through a grain reference; its task completes with the grain method's result.</summary>
internal abstract class CallItem<T>(bool interleaves) : WorkItem
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _result.Task;

    public override bool KeepsAlive => true;

    public override bool Interleaves => interleaves;

    public override async Task RunAsync(Grain grain)
    {
        try
        {
            var task = Start(grain);
            await task.ConfigureAwait(false);
            _result.TrySetResult(task is Task<T> typed ? typed.Result : default!);
        }
        catch (Exception e)
        {
            // A failing call faults only its own caller; the activation goes on.
            _result.TrySetException(e);
        }
    }

    // A call that reached an activation as it deactivated goes to the next activation.
    public override void Abandon(GrainRuntime runtime, GrainId id, Exception? reason)
    {
        if (reason is null)
        {
            runtime.Dispatch(id, this);
        }
        else
        {
            _result.TrySetException(reason);
        }
    }

    /// <summary>Calls the grain method; the returned task is the method's own.</summary>
    protected abstract Task Start(Grain grain);
}

/// <summary>A call through a <see cref="GrainReference"/>: a typed delegate and its arguments.</summary>
internal sealed class DelegateCallItem<TGrain, TArgs, T>(Func<TGrain, TArgs, Task> method, TArgs args, bool interleaves)
    : CallItem<T>(interleaves)
    where TGrain : class
{
    protected override Task Start(Grain grain) => method((TGrain)(object)grain, args);
}

/// <summary>A call through a <see cref="GrainProxy"/>: the interface method, invoked by reflection.</summary>
internal sealed class ReflectionCallItem<T>(MethodInfo method, object?[]? args, bool interleaves) : CallItem<T>(interleaves)
{
    protected override Task Start(Grain grain) => (Task)method.Invoke(grain, BindingFlags.DoNotWrapExceptions, null, args, null)!;
}

internal sealed class TurnItem(Func<Task> turn) : WorkItem
{
    public override Task RunAsync(Grain grain) => turn();
}

/// <summary>A stream event for the grain's handler: one object per event (a turn closure would be two).</summary>
internal sealed class StreamEventItem(Func<StreamEvent, Task> handler, StreamEvent streamEvent) : WorkItem
{
    public override Task RunAsync(Grain grain) => handler(streamEvent);
}

internal sealed class DeactivateItem : WorkItem
{
    public static readonly DeactivateItem Instance = new();

    public override Task RunAsync(Grain grain) => Task.CompletedTask;
}
