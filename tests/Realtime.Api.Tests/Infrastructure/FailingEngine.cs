using System.Reflection;
using Realtime.Contracts.Channels;
using Realtime.Silo.Engines;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// An engine that fails like a bug would: for channels of the <c>boom</c> namespace, appends and history
/// reads throw an <see cref="InvalidOperationException"/> whose message must never reach a client.
/// Everything else goes to the real engine it wraps.
/// </summary>
public class FailingEngine : DispatchProxy
{
    public const string Secret = "secret internal detail";

    private IRealtimeEngine _inner = null!;

    public static IRealtimeEngine Wrap(IRealtimeEngine inner)
    {
        var proxy = Create<IRealtimeEngine, FailingEngine>();
        ((FailingEngine)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var channel = args?.FirstOrDefault() switch
        {
            AppendRequest request => request.Channel,
            string name when targetMethod?.Name == nameof(IRealtimeEngine.ReadHistoryAsync) => name,
            _ => null,
        };
        if (channel?.StartsWith("boom:", StringComparison.Ordinal) == true)
        {
            throw new InvalidOperationException($"{Secret}: the connection string was Password=hunter2");
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
