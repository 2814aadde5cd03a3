using Orleans.Providers;

namespace Realtime.Silo.Tests.Grains;

/// <summary>
/// Stream pushes failing as they do while the silo holding a stream queue is down: the silos' calls that put events in
/// the memory stream queues throw. One instance per test cluster, given to its silos.
/// </summary>
public sealed class FailingPushes
{
    private int _refused;

    public bool Failing { get; set; }

    /// <summary>Pushes refused so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public void AddTo(ISiloBuilder silo) => silo.AddOutgoingGrainCallFilter(async context =>
    {
        if (Failing && context.InterfaceMethod.DeclaringType == typeof(IMemoryStreamQueueGrain)
            && context.MethodName == nameof(IMemoryStreamQueueGrain.Enqueue))
        {
            Interlocked.Increment(ref _refused);
            throw new SiloUnavailableException("the silo holding this stream queue is down (a test's failing pushes)");
        }

        await context.Invoke();
    });
}
