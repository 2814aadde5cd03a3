using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Realtime.Contracts.Streams;

namespace Realtime.Silo.Runtime;

/// <summary>
/// One activation of a grain on this node: a mailbox drained by a single loop, so the grain runs one
/// turn at a time. Deactivation leaves the directory first and then closes the mailbox; calls that
/// slipped in between are handed to the next activation, so no call is lost. Calls marked
/// <c>[AlwaysInterleave]</c> skip the mailbox once the grain is active, so they never wait for a turn.
/// </summary>
internal sealed class GrainActivation(GrainRuntime runtime, GrainId id, Func<Grain> createGrain, ILogger logger)
{
    private readonly Channel<WorkItem> _mailbox = Channel.CreateUnbounded<WorkItem>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly List<IDisposable> _resources = [];
    private int _started;
    private int _pending;
    private Grain? _active;
    private bool _running;
    private bool _deactivationRequested;
    private long _lastUsed = Environment.TickCount64;

    public GrainId Id { get; } = id;

    public GrainRuntime Runtime { get; } = runtime;

    /// <summary>Completes when the activation has deactivated.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public bool IsIdle(long now, long idleMs) =>
        Volatile.Read(ref _pending) == 0 && !Volatile.Read(ref _running) && now - Volatile.Read(ref _lastUsed) >= idleMs;

    /// <summary>The grain, if active, for an interleaving call made beside the current turn; counts as use.</summary>
    public Grain? EnterInterleaved()
    {
        var active = Volatile.Read(ref _active);
        if (active is not null)
        {
            Volatile.Write(ref _lastUsed, Environment.TickCount64);
        }

        return active;
    }

    public bool TryEnqueue(WorkItem item)
    {
        // The mailbox loop is parked on the current turn, so an interleaving call must not queue behind it.
        if (item.Interleaves && Volatile.Read(ref _active) is { } active)
        {
            Volatile.Write(ref _lastUsed, Environment.TickCount64);
            _ = item.RunAsync(active); // faults are carried by the call's own task
            return true;
        }

        Interlocked.Increment(ref _pending);
        if (_mailbox.Writer.TryWrite(item))
        {
            if (item.KeepsAlive)
            {
                Volatile.Write(ref _lastUsed, Environment.TickCount64);
            }

            return true;
        }

        Interlocked.Decrement(ref _pending);
        return false;
    }

    public void EnsureStarted()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            Completion = Task.Run(RunAsync);
        }
    }

    public void RequestDeactivation() => _deactivationRequested = true;

    public IDisposable RegisterTimer(Func<Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new GrainTimer(this, callback, dueTime, period);
        _resources.Add(timer);
        return timer;
    }

    public IDisposable SubscribeToStream(StreamKey key, Func<StreamEvent, Task> onEvent)
    {
        var subscription = Runtime.Streams.Subscribe(key, e => TryEnqueue(new StreamEventItem(onEvent, e)));
        _resources.Add(subscription);
        return subscription;
    }

    private async Task RunAsync()
    {
        Grain grain;
        try
        {
            grain = createGrain();
            grain.Attach(this);
            await grain.OnActivateAsync(Runtime.Stopping).ConfigureAwait(false);
            Runtime.OnActivated(this);
            Volatile.Write(ref _active, grain);
        }
        catch (Exception e)
        {
            SiloLog.ActivationFailed(logger, e, Id.ToString());
            await CloseAsync(null, new InvalidOperationException($"grain {Id} failed to activate", e)).ConfigureAwait(false);
            return;
        }

        var reader = _mailbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                Interlocked.Decrement(ref _pending);
                if (item is DeactivateItem)
                {
                    // Queued by the collector or at shutdown: only honoured if the grain is still unused.
                    if (Runtime.IsStopping || (IsIdle(Environment.TickCount64, Runtime.IdleTimeoutMs) && grain.CanDeactivateOnIdle))
                    {
                        await CloseAsync(grain, null).ConfigureAwait(false);
                        return;
                    }

                    continue;
                }

                if (item.Interleaves)
                {
                    _ = item.RunAsync(grain); // faults are carried by the call's own task
                    continue;
                }

                if (item.KeepsAlive)
                {
                    // A new call means the grain is in use again: a pending DeactivateOnIdle no longer applies.
                    // Stream events and timer ticks (such as the grain's own leave event) do not cancel it.
                    _deactivationRequested = false;
                }

                Volatile.Write(ref _running, true);
                try
                {
                    await item.RunAsync(grain).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    SiloLog.TurnFailed(logger, e, Id.ToString());
                }
                finally
                {
                    Volatile.Write(ref _running, false);
                }

                if (_deactivationRequested && Volatile.Read(ref _pending) == 0)
                {
                    await CloseAsync(grain, null).ConfigureAwait(false);
                    return;
                }
            }
        }
    }

    private async Task CloseAsync(Grain? grain, Exception? failure)
    {
        Volatile.Write(ref _active, null);
        Runtime.Remove(this);
        _mailbox.Writer.TryComplete();
        foreach (var resource in _resources)
        {
            resource.Dispose();
        }

        if (grain is not null)
        {
            try
            {
                await grain.OnDeactivateAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                SiloLog.DeactivationFailed(logger, e, Id.ToString());
            }

            Runtime.OnDeactivated(this);
        }

        while (_mailbox.Reader.TryRead(out var leftover))
        {
            leftover.Abandon(Runtime, Id, failure ?? (Runtime.IsStopping ? new OperationCanceledException("the silo is stopping") : null));
        }
    }
}
