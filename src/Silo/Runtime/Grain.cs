using Realtime.Contracts.Streams;

namespace Realtime.Silo.Runtime;

/// <summary>
/// Base class of a grain implementation. The runtime runs every call, timer tick and stream event
/// as a turn, one at a time, so a grain's fields need no locks.
/// </summary>
public abstract class Grain
{
    private GrainActivation? _activation;

    protected string GrainKey => Activation.Id.Key;

    protected IGrainFactory GrainFactory => Activation.Runtime;

    private GrainActivation Activation =>
        _activation ?? throw new InvalidOperationException("the grain is not activated by the runtime");

    /// <summary>Whether the idle collector may deactivate this grain now. A grain that serves sockets
    /// stays active while it has any, however long it goes without a call.</summary>
    protected internal virtual bool CanDeactivateOnIdle => true;

    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deactivates the grain once the current turn ends, unless more calls are waiting.</summary>
    protected void DeactivateOnIdle() => Activation.RequestDeactivation();

    /// <summary>Runs <paramref name="callback"/> as a turn after <paramref name="dueTime"/> and then every
    /// <paramref name="period"/>. Ticks never pile up and do not keep the grain alive.</summary>
    protected IDisposable RegisterTimer(Func<Task> callback, TimeSpan dueTime, TimeSpan period) =>
        Activation.RegisterTimer(callback, dueTime, period);

    /// <summary>Receives the events of a stream as turns, in the order the engine delivers them,
    /// until the grain deactivates.</summary>
    protected IDisposable SubscribeToStream(StreamKey key, Func<StreamEvent, Task> onEvent) =>
        Activation.SubscribeToStream(key, onEvent);

    internal void Attach(GrainActivation activation) => _activation = activation;
}
