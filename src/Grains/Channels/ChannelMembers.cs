using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;

namespace Realtime.Grains.Channels;

/// <summary>A channel grain's durable state: every member, by client id, and the joins and leaves not yet pushed.
/// Kept in grain storage so that a channel whose silo died together with a front end still knows that front end's
/// members, and pushes their leave once the lease runs out; and so that a leave whose push failed (the silo holding
/// a stream queue died) is pushed by the next activation when Orleans deactivates this one meanwhile.</summary>
[GenerateSerializer, Alias("realtime.channel-members")]
public sealed class ChannelMembers
{
    [Id(0)]
    public Dictionary<string, ChannelMember> Members { get; set; } = [];

    /// <summary>In order, with the sequences they were given; absent from states stored before it was added.</summary>
    [Id(1)]
    public List<PresenceEvent>? Unsent { get; set; }
}
