using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Grains;

/// <summary>
/// One channel in the cluster: its members (the sockets subscribed on every front end), presence,
/// publishing into its history and pushing each message to the front ends that have members.
/// <c>caller</c> is null for trusted server-side calls (REST) and set for calls from sockets, which are
/// checked against the namespace.
/// </summary>
[Alias("realtime.IChannelGrain")]
public interface IChannelGrain : IGrainWithStringKey
{
    /// <summary>Adds a socket as a member (presence entry and join as the namespace allows) and, with
    /// <paramref name="since"/>, returns what it missed.</summary>
    [Alias("subscribe")]
    Task<SubscribeResult> SubscribeAsync(ChannelMember member, ClientIdentity identity, StreamPosition? since);

    /// <summary>A socket's leave. <paramref name="round"/> is its front end's renewal round once the socket was out of
    /// its feed (see <see cref="ChannelRenewal"/>): a renewal of an earlier or the same round may still list it, and
    /// does not bring it back.</summary>
    [Alias("unsubscribe")]
    Task UnsubscribeAsync(string frontEnd, string client, long round);

    /// <summary>A front end's periodic renewal with every member it holds: members it no longer lists
    /// leave (unless their subscribe was sent after it took its list), members the grain lost (a new activation)
    /// come back, and the lease of the front end is extended. Returns where the channel stands (messages and
    /// presence events), so the front end can refill what its stream missed.</summary>
    [Alias("renew")]
    Task<RenewResult> RenewAsync(ChannelRenewal renewal);

    /// <summary>The recent joins and leaves after <paramref name="sequence"/>, oldest first; null when the grain no
    /// longer holds all of them (they are kept in memory, a few hundred per channel).</summary>
    [Alias("presence-since")]
    Task<PresenceEvent[]?> PresenceSinceAsync(long sequence);

    [Alias("publish")]
    Task<AppendResult> PublishAsync(ClientIdentity? caller, Immutable<byte[]> data, string? idempotencyKey);

    [Alias("history")]
    Task<HistoryPage> HistoryAsync(ClientIdentity? caller, HistoryQuery query);

    [Alias("presence")]
    Task<IReadOnlyList<PresenceEntry>> PresenceAsync(ClientIdentity? caller);
}

/// <summary>A socket subscribed to a channel: the front end process that holds it (where pushes go),
/// its client id, its user and the node name shown in presence. <see cref="Round"/> is the front end's renewal
/// round when it sent the subscribe (see <see cref="ChannelRenewal"/>).</summary>
[GenerateSerializer, Immutable, Alias("realtime.channel-member")]
public sealed record ChannelMember(
    [property: Id(0)] string FrontEnd,
    [property: Id(1)] string Client,
    [property: Id(2)] string User,
    [property: Id(3)] string Node,
    [property: Id(4)] long Round = 0);

/// <summary>
/// A front end's renewal of one channel. A front end counts its renewals: each takes the next
/// <see cref="Round"/> before it lists its sockets, and each subscribe carries the round it was sent in. A member
/// whose round is not below the renewal's was subscribed after the list was taken, so its absence from
/// <see cref="Members"/> says nothing, however late the renewal arrives. <see cref="Pending"/> are the clients whose
/// subscribe the front end has sent and not yet had answered: not members to bring back, but not gone either.
/// </summary>
[GenerateSerializer, Immutable, Alias("realtime.channel-renewal")]
public sealed record ChannelRenewal(
    [property: Id(0)] string FrontEnd,
    [property: Id(1)] long Round,
    [property: Id(2)] IReadOnlyList<ChannelMember> Members,
    [property: Id(3)] IReadOnlyList<string> Pending);

/// <summary>Where a channel stands: its newest offset, and its newest presence event.</summary>
[GenerateSerializer, Immutable, Alias("realtime.renew-result")]
public sealed record RenewResult([property: Id(0)] StreamPosition Position, [property: Id(1)] long PresenceSequence);

/// <summary>What a subscribe returns: where the channel stands, and what came after <c>since</c>.
/// <see cref="PresenceSequence"/> is the last presence event before the member was added: the new subscriber is
/// shown only the joins and leaves after it.</summary>
[GenerateSerializer, Immutable, Alias("realtime.subscribe-result")]
public sealed record SubscribeResult(
    [property: Id(0)] string Channel,
    [property: Id(1)] string Epoch,
    [property: Id(2)] long Offset,
    [property: Id(3)] bool Recovered,
    [property: Id(4)] IReadOnlyList<Publication> Messages,
    [property: Id(5)] long PresenceSequence = 0);
