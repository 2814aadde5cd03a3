namespace Realtime.Contracts.Wire;

/// <summary>A point in a channel's stream: the epoch names the history, the offset a message in it.</summary>
[GenerateSerializer, Immutable, Alias("realtime.stream-position")]
public readonly record struct StreamPosition([property: Id(0)] string Epoch, [property: Id(1)] long Offset);
