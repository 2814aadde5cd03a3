namespace Realtime.Contracts.Channels;

/// <summary>A message stored in a channel's history. <see cref="Data"/> is raw UTF-8 JSON. Immutable: it
/// crosses grain calls and streams without being copied.</summary>
[GenerateSerializer, Immutable, Alias("realtime.publication")]
public sealed record Publication(
    [property: Id(0)] string Channel,
    [property: Id(1)] long Offset,
    [property: Id(2)] string Epoch,
    [property: Id(3)] string? From,
    [property: Id(4)] byte[] Data,
    [property: Id(5)] DateTimeOffset Timestamp);
