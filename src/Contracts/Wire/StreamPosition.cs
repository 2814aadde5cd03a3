namespace Realtime.Contracts.Wire;

/// <summary>A point in a channel's stream: the epoch names the history, the offset a message in it.</summary>
public readonly record struct StreamPosition(string Epoch, long Offset);
