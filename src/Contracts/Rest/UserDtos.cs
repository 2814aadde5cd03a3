using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Rest;

public sealed record NotifyRequest(RawJson? Data, string? IdempotencyKey, DateTimeOffset? DeliverAt);

public sealed record NotifyResponse(string Id);

public sealed record NotifyManyRequest(IReadOnlyList<string>? Users, RawJson? Data);

public sealed record NotifyManyResponse(IReadOnlyList<string> Ids);

public sealed record DirectRequest(RawJson? Data);

public sealed record NotificationDto(string Id, RawJson Data, DateTime Ts, bool Read);

public sealed record NotificationsResponse(IReadOnlyList<NotificationDto> Items, int Unread);

public sealed record MarkReadRequest(IReadOnlyList<string?>? Ids);

public sealed record MarkReadResponse(int Unread);

public sealed record DisconnectRequest(string? Reason);
