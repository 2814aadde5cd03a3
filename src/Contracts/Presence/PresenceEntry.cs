namespace Realtime.Contracts.Presence;

/// <summary>One client present in a channel, and the node that holds its socket.</summary>
[GenerateSerializer, Immutable, Alias("realtime.presence-entry")]
public sealed record PresenceEntry([property: Id(0)] string Client, [property: Id(1)] string User, [property: Id(2)] string Node);
