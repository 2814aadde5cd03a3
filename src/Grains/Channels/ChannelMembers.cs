using Realtime.Contracts.Grains;

namespace Realtime.Grains.Channels;

/// <summary>A channel grain's durable state: every member, by client id. Kept in grain storage so that a
/// channel whose silo died together with a front end still knows that front end's members, and pushes
/// their leave once the lease runs out.</summary>
[GenerateSerializer, Alias("realtime.channel-members")]
public sealed class ChannelMembers
{
    [Id(0)]
    public Dictionary<string, ChannelMember> Members { get; set; } = [];
}
