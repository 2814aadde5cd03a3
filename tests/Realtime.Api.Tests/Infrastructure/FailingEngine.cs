using System.Reflection;
using Realtime.Contracts.Channels;
using Realtime.Grains.Stores;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// An engine that fails like a bug would: for channels of the <c>boom</c> namespace, appends and history
/// reads throw an <see cref="InvalidOperationException"/> whose message must never reach a client (or, with a
/// fault of the test's own, whatever calls it picks). Everything else goes to the real engine it wraps.
/// </summary>
public class FailingEngine : DispatchProxy
{
    public const string Secret = "secret internal detail";

    private IRealtimeStore _inner = null!;
    private Func<MethodInfo, object?[]?, Exception?> _fault = Boom;

    public static IRealtimeStore Wrap(IRealtimeStore inner) => Wrap(inner, Boom);

    /// <summary>Wraps <paramref name="inner"/> so that a call for which <paramref name="fault"/> returns an exception throws it.</summary>
    public static IRealtimeStore Wrap(IRealtimeStore inner, Func<MethodInfo, object?[]?, Exception?> fault)
    {
        var proxy = Create<IRealtimeStore, FailingEngine>();
        ((FailingEngine)(object)proxy)._inner = inner;
        ((FailingEngine)(object)proxy)._fault = fault;
        return proxy;
    }

    private static Exception? Boom(MethodInfo method, object?[]? args)
    {
        var channel = args?.FirstOrDefault() switch
        {
            AppendRequest request => request.Channel,
            string name when method.Name == nameof(IRealtimeStore.ReadHistoryAsync) => name,
            _ => null,
        };
        return channel?.StartsWith("boom:", StringComparison.Ordinal) == true
            ? new InvalidOperationException($"{Secret}: the connection string was Password=hunter2")
            : null;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (_fault(targetMethod!, args) is { } fault)
        {
            throw fault;
        }

        try
        {
            return targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }
}
