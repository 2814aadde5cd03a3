namespace Realtime.Contracts.Channels;

/// <summary>What a publish asks the engine to append. History limits come from the channel's namespace.</summary>
public sealed record AppendRequest(
    string Channel,
    string? From,
    byte[] Data,
    int HistorySize,
    TimeSpan HistoryTtl,
    string? IdempotencyKey = null);

/// <summary>The position the engine gave a publish. <see cref="Duplicate"/> is true when an earlier
/// publish with the same idempotency key already holds this position.</summary>
public sealed record AppendResult(long Offset, string Epoch, bool Duplicate = false);
