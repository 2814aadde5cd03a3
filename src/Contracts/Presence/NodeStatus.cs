namespace Realtime.Contracts.Presence;

/// <summary>A front end's report: who it is (its node id, and the instance of this process), when it was last
/// seen and what it serves.</summary>
[GenerateSerializer, Immutable, Alias("realtime.node-status")]
public sealed record NodeStatus(
    [property: Id(0)] string Node,
    [property: Id(1)] DateTimeOffset LastSeen,
    [property: Id(2)] int Connections,
    [property: Id(3)] int Channels,
    [property: Id(4)] string Instance = "");
