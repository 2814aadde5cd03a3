using System.Collections.Concurrent;
using System.Reflection;
using Realtime.Contracts.Grains;

namespace Realtime.Silo.Runtime;

/// <summary>
/// A grain reference: turns each interface call into a turn in the grain's mailbox. This stands in
/// for the code Orleans generates per grain interface, for interfaces without a <see cref="GrainReference"/>;
/// one reflection lookup per method is cached.
/// </summary>
public class GrainProxy : DispatchProxy
{
    private static readonly ConcurrentDictionary<MethodInfo, Func<GrainRuntime, GrainId, MethodInfo, object?[]?, object>> Invokers = new();
    private static readonly MethodInfo CallOfT = typeof(GrainProxy).GetMethod(nameof(Call), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly ConcurrentDictionary<MethodInfo, bool> InterleavingMethods = new();

    private GrainRuntime? _runtime;
    private GrainId _id;

    internal void Initialize(GrainRuntime runtime, GrainId id)
    {
        _runtime = runtime;
        _id = id;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return Invokers.GetOrAdd(targetMethod, CreateInvoker)(_runtime!, _id, targetMethod, args);
    }

    public override string ToString() => _id.ToString();

    private static Func<GrainRuntime, GrainId, MethodInfo, object?[]?, object> CreateInvoker(MethodInfo method)
    {
        var returnType = method.ReturnType;
        var resultType = returnType == typeof(Task) ? typeof(object)
            : returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0]
            : throw new NotSupportedException($"grain method {method.DeclaringType?.Name}.{method.Name} must return Task or Task<T>");
        return CallOfT.MakeGenericMethod(resultType)
            .CreateDelegate<Func<GrainRuntime, GrainId, MethodInfo, object?[]?, object>>();
    }

    private static object Call<T>(GrainRuntime runtime, GrainId id, MethodInfo method, object?[]? args)
    {
        var item = new ReflectionCallItem<T>(method, args, InterleavingMethods.GetOrAdd(method, static m => m.IsDefined(typeof(AlwaysInterleaveAttribute))));
        runtime.Dispatch(id, item);
        return item.Task;
    }
}
