using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Wire;
using Realtime.Silo.Runtime;

namespace Realtime.Grains.Channels;

/// <summary>The reference to a <see cref="ChannelGrain"/> (what Orleans would generate): publishing, the
/// hot path, costs no reflection, no argument array and, while the grain is active, no turn.</summary>
internal sealed class ChannelGrainReference(GrainRuntime runtime, GrainId id) : GrainReference(runtime, id), IChannelGrain
{
    private static readonly bool SubscribeInterleaves = Interleaves<IChannelGrain>(nameof(SubscribeAsync));
    private static readonly bool UnsubscribeInterleaves = Interleaves<IChannelGrain>(nameof(UnsubscribeAsync));
    private static readonly bool PublishInterleaves = Interleaves<IChannelGrain>(nameof(PublishAsync));
    private static readonly bool HistoryInterleaves = Interleaves<IChannelGrain>(nameof(HistoryAsync));
    private static readonly bool PresenceInterleaves = Interleaves<IChannelGrain>(nameof(PresenceAsync));
    private static readonly bool CountInterleaves = Interleaves<IChannelGrain>(nameof(SubscriberCountAsync));

    public Task<SubscribeResult> SubscribeAsync(IChannelSubscriber subscriber, StreamPosition? since) =>
        Call(static (IChannelGrain g, (IChannelSubscriber Subscriber, StreamPosition? Since) a) => g.SubscribeAsync(a.Subscriber, a.Since),
            (subscriber, since), SubscribeInterleaves);

    public Task UnsubscribeAsync(IChannelSubscriber subscriber) =>
        Call(static (IChannelGrain g, IChannelSubscriber s) => g.UnsubscribeAsync(s), subscriber, UnsubscribeInterleaves);

    public Task<AppendResult> PublishAsync(ClientIdentity? caller, byte[] data, string? idempotencyKey) =>
        Call(static (IChannelGrain g, (ClientIdentity? Caller, byte[] Data, string? Key) a) => g.PublishAsync(a.Caller, a.Data, a.Key),
            (caller, data, idempotencyKey), PublishInterleaves);

    public Task<HistoryPage> HistoryAsync(ClientIdentity? caller, HistoryQuery query) =>
        Call(static (IChannelGrain g, (ClientIdentity? Caller, HistoryQuery Query) a) => g.HistoryAsync(a.Caller, a.Query),
            (caller, query), HistoryInterleaves);

    public Task<IReadOnlyList<PresenceEntry>> PresenceAsync(ClientIdentity? caller) =>
        Call(static (IChannelGrain g, ClientIdentity? c) => g.PresenceAsync(c), caller, PresenceInterleaves);

    public Task<int> SubscriberCountAsync() =>
        Call(static (IChannelGrain g, object? _) => g.SubscriberCountAsync(), null, CountInterleaves);
}
