namespace Realtime.Contracts.Channels;

/// <summary>What a publish asks the store to append. History limits come from the channel's namespace.</summary>
public sealed record AppendRequest(
    string Channel,
    string? From,
    byte[] Data,
    int HistorySize,
    TimeSpan HistoryTtl,
    string? IdempotencyKey = null);

/// <summary>The position the store gave a publish, and the time it recorded. <see cref="Duplicate"/> is true
/// when an earlier publish with the same idempotency key already holds this position.</summary>
[GenerateSerializer, Immutable, Alias("realtime.append-result")]
public sealed record AppendResult(
    [property: Id(0)] long Offset,
    [property: Id(1)] string Epoch,
    [property: Id(2)] bool Duplicate = false,
    [property: Id(3)] DateTimeOffset Timestamp = default);
