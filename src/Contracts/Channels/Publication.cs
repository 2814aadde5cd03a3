namespace Realtime.Contracts.Channels;

/// <summary>A message stored in a channel's history. <see cref="Data"/> is raw UTF-8 JSON.</summary>
public sealed record Publication(
    string Channel,
    long Offset,
    string Epoch,
    string? From,
    byte[] Data,
    DateTimeOffset Timestamp);
