using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Grains;
using Realtime.Silo.Diagnostics;

namespace Realtime.Silo.Runtime;

/// <summary>
/// The in-process grain runtime (the counterpart of an Orleans silo's catalog and scheduler):
/// activates grains on first call, runs each activation's turns one at a time, deactivates idle
/// ones and, at shutdown, all of them.
/// </summary>
public sealed class GrainRuntime(
    IServiceProvider services,
    IStreamProvider streams,
    GrainTypeRegistry registry,
    IOptions<SiloOptions> options,
    RealtimeMetrics metrics,
    ILogger<GrainRuntime> logger) : IGrainFactory, IHostedService
{
    private readonly ConcurrentDictionary<GrainId, GrainActivation> _directory = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _collector;

    internal IStreamProvider Streams => streams;

    internal CancellationToken Stopping => _stopping.Token;

    internal bool IsStopping => _stopping.IsCancellationRequested;

    internal long IdleTimeoutMs => (long)options.Value.IdleTimeout.TotalMilliseconds;

    /// <summary>How many activations this node holds now.</summary>
    public int ActivationCount => _directory.Count;

    public TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : class, IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var id = new GrainId(typeof(TGrainInterface), key);
        if (registry.ReferenceOf(typeof(TGrainInterface)) is { } reference)
        {
            return (TGrainInterface)reference(this, id);
        }

        var proxy = DispatchProxy.Create<TGrainInterface, GrainProxy>();
        ((GrainProxy)(object)proxy).Initialize(this, id);
        return proxy;
    }

    /// <summary>How many activations of one grain interface this node holds now.</summary>
    public int CountActivations<TGrainInterface>() => _directory.Keys.Count(id => id.Interface == typeof(TGrainInterface));

    /// <summary>A call through a <see cref="GrainReference"/>; the task is a <c>Task&lt;TResult&gt;</c>
    /// unless the grain method returns a plain <see cref="Task"/>.</summary>
    internal Task Call<TGrain, TArgs, TResult>(GrainId id, Func<TGrain, TArgs, Task> method, TArgs args, bool interleaves)
        where TGrain : class
    {
        // An interleaving call to an active grain runs now, on this thread: no turn, no hop. Its task is
        // the grain method's own, so a failure faults only this call, as a queued call's would.
        if (interleaves && !IsStopping && _directory.TryGetValue(id, out var activation) && activation.EnterInterleaved() is { } grain)
        {
            try
            {
                return method((TGrain)(object)grain, args);
            }
            catch (Exception e)
            {
                return Task.FromException<TResult>(e);
            }
        }

        var item = new DelegateCallItem<TGrain, TArgs, TResult>(method, args, interleaves);
        Dispatch(id, item);
        return item.Task;
    }

    internal void Dispatch(GrainId id, WorkItem item)
    {
        if (IsStopping)
        {
            item.Abandon(this, id, new OperationCanceledException("the silo is stopping"));
            return;
        }

        while (true)
        {
            var activation = _directory.GetOrAdd(id, CreateActivation);
            if (activation.TryEnqueue(item))
            {
                activation.EnsureStarted();
                return;
            }

            // That activation closed its mailbox as we reached it; the next lookup finds or makes another.
            Thread.Yield();
        }
    }

    internal void Remove(GrainActivation activation) =>
        _directory.TryRemove(new KeyValuePair<GrainId, GrainActivation>(activation.Id, activation));

    internal void OnActivated(GrainActivation activation)
    {
        metrics.GrainActivated();
        SiloLog.Activated(logger, activation.Id.ToString());
    }

    internal void OnDeactivated(GrainActivation activation)
    {
        metrics.GrainDeactivated();
        SiloLog.Deactivated(logger, activation.Id.ToString());
    }

    private GrainActivation CreateActivation(GrainId id)
    {
        var implementation = registry.ImplementationOf(id.Interface);
        return new GrainActivation(this, id, () => (Grain)ActivatorUtilities.CreateInstance(services, implementation), logger);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _collector = CollectIdleAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        var closing = new List<Task>();
        foreach (var activation in _directory.Values)
        {
            activation.TryEnqueue(DeactivateItem.Instance);
            closing.Add(activation.Completion);
        }

        await Task.WhenAll(closing).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_collector is not null)
        {
            await _collector.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task CollectIdleAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.CollectionInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                foreach (var activation in _directory.Values)
                {
                    if (activation.IsIdle(now, IdleTimeoutMs))
                    {
                        activation.TryEnqueue(DeactivateItem.Instance);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
