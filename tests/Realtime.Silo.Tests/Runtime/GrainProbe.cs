using System.Collections.Concurrent;

namespace Realtime.Silo.Tests.Runtime;

/// <summary>
/// What the test grains report about themselves, keyed by grain key: activations, deactivations,
/// timer ticks, overlapping turns. A singleton in the test silo, so it outlives every activation.
/// </summary>
public sealed class GrainProbe
{
    private readonly ConcurrentDictionary<string, int> _activations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _deactivations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _ticks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _entered = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new(StringComparer.Ordinal);
    private int _overlaps;

    public int TotalActivations => _activations.Values.Sum();

    public int TotalDeactivations => _deactivations.Values.Sum();

    /// <summary>How many times a turn started while another turn of the same activation was running.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    public int Activations(string key) => _activations.GetValueOrDefault(key);

    public int Deactivations(string key) => _deactivations.GetValueOrDefault(key);

    public int Ticks(string key) => _ticks.GetValueOrDefault(key);

    public void RecordActivation(string key) => _activations.AddOrUpdate(key, 1, static (_, n) => n + 1);

    public void RecordDeactivation(string key) => _deactivations.AddOrUpdate(key, 1, static (_, n) => n + 1);

    public void RecordTick(string key) => _ticks.AddOrUpdate(key, 1, static (_, n) => n + 1);

    public void RecordOverlap() => Interlocked.Increment(ref _overlaps);

    /// <summary>Completes when a grain with this key has entered <c>HoldAsync</c>.</summary>
    public TaskCompletionSource Entered(string key) => _entered.GetOrAdd(key, static _ => NewSignal());

    /// <summary>Holds <c>HoldAsync</c> of this key until the test completes it.</summary>
    public TaskCompletionSource Gate(string key) => _gates.GetOrAdd(key, static _ => NewSignal());

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
