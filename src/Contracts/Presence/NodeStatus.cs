namespace Realtime.Contracts.Presence;

/// <summary>A node's heartbeat: who it is, when it was last seen and what it serves.</summary>
public sealed record NodeStatus(string Node, DateTimeOffset LastSeen, int Connections, int Channels);
