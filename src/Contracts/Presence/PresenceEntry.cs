namespace Realtime.Contracts.Presence;

/// <summary>One client present in a channel, and the node that holds its socket.</summary>
public sealed record PresenceEntry(string Client, string User, string Node);
