using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Rest;

public sealed record PublishRequest(RawJson? Data, string? IdempotencyKey);

public sealed record PublishResponse(long Offset, string Epoch);

public sealed record BroadcastRequest(IReadOnlyList<string>? Channels, RawJson? Data);

/// <summary>One channel's outcome in a broadcast: a position, or an error code and message.</summary>
public sealed record BroadcastResult(string Channel, long? Offset, string? Epoch, string? Error, string? Message);

public sealed record BroadcastResponse(IReadOnlyList<BroadcastResult> Results);

public sealed record MessageDto(string Channel, long Offset, string Epoch, string? From, RawJson Data, DateTime Ts);

public sealed record HistoryResponse(string Epoch, long Offset, IReadOnlyList<MessageDto> Messages);

public sealed record PresenceClientDto(string Client, string User);

public sealed record PresenceResponse(IReadOnlyList<PresenceClientDto> Clients, int Users);
