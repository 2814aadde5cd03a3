using Realtime.Contracts.Grains;

namespace Realtime.Silo.Runtime;

/// <summary>
/// Base of a grain reference written for one grain interface: the counterpart of the reference code
/// Orleans generates at build time. Each method passes a static lambda and its arguments (a value tuple,
/// so nothing but the turn itself is allocated) to <see cref="Call{TGrain,TArgs,TResult}"/>.
/// Interfaces without one get the reflection-based <see cref="GrainProxy"/>.
/// </summary>
public abstract class GrainReference(GrainRuntime runtime, GrainId id)
{
    /// <summary>Runs <paramref name="method"/> on the grain as a call: a turn in its mailbox, or, for
    /// an <c>[AlwaysInterleave]</c> method of an active grain, at once on the caller's thread.</summary>
    protected Task<TResult> Call<TGrain, TArgs, TResult>(Func<TGrain, TArgs, Task<TResult>> method, TArgs args, bool interleaves)
        where TGrain : class =>
        (Task<TResult>)runtime.Call<TGrain, TArgs, TResult>(id, method, args, interleaves);

    protected Task Call<TGrain, TArgs>(Func<TGrain, TArgs, Task> method, TArgs args, bool interleaves)
        where TGrain : class =>
        runtime.Call<TGrain, TArgs, object?>(id, method, args, interleaves);

    public override string ToString() => id.ToString();

    /// <summary>Whether <typeparamref name="TGrainInterface"/>'s method carries <c>[AlwaysInterleave]</c>: read
    /// once into a static field by each reference, so the attribute stays the one place that says so.</summary>
    protected static bool Interleaves<TGrainInterface>(string method) =>
        (typeof(TGrainInterface).GetMethod(method) ?? throw new ArgumentException($"{typeof(TGrainInterface).Name} has no method {method}", nameof(method)))
            .IsDefined(typeof(AlwaysInterleaveAttribute), inherit: false);
}
