using System.Diagnostics;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Diagnostics;

/// <summary>
/// The node's own spans, on an <see cref="ActivitySource"/> named "Realtime": one per socket command, so a trace
/// shows how long a publish or a subscribe took and which channel it was for. Without a listener (no tracing
/// configured) starting one costs a flag check and allocates nothing.
/// </summary>
public static class RealtimeTracing
{
    public const string SourceName = "Realtime";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A span for one command of a socket, or null when no one listens.</summary>
    internal static Activity? StartCommand(ClientCommand command, string client)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"realtime {command.Type.ToString().ToLowerInvariant()}", ActivityKind.Server);
        activity?.SetTag("realtime.command", command.Type.ToString().ToLowerInvariant());
        activity?.SetTag("realtime.client", client);
        if (command.Channel is { } channel)
        {
            activity?.SetTag("realtime.channel", channel);
        }

        return activity;
    }
}
