using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Grains;

/// <summary>
/// One channel on this node: its local subscribers, publishing into its history, and delivery of its
/// stream in offset order. Keyed by channel name. <paramref name="caller"/> is null for trusted
/// server-side calls (REST) and set for calls from sockets, which are checked against the namespace.
/// </summary>
public interface IChannelGrain : IGrainWithStringKey
{
    Task<SubscribeResult> SubscribeAsync(IChannelSubscriber subscriber, StreamPosition? since);

    Task UnsubscribeAsync(IChannelSubscriber subscriber);

    [AlwaysInterleave]
    Task<AppendResult> PublishAsync(ClientIdentity? caller, byte[] data, string? idempotencyKey);

    [AlwaysInterleave]
    Task<HistoryPage> HistoryAsync(ClientIdentity? caller, HistoryQuery query);

    [AlwaysInterleave]
    Task<IReadOnlyList<PresenceEntry>> PresenceAsync(ClientIdentity? caller);

    /// <summary>Local subscriber count, for tests and node statistics.</summary>
    Task<int> SubscriberCountAsync();
}

/// <summary>What a subscribe returns: where the channel stands, and what came after <c>since</c>.</summary>
public sealed record SubscribeResult(string Channel, string Epoch, long Offset, bool Recovered, IReadOnlyList<Publication> Messages);
