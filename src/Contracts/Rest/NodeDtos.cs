namespace Realtime.Contracts.Rest;

public sealed record NodeDto(string Node, DateTimeOffset LastSeen, int Connections, int Channels);

public sealed record InfoResponse(string Node, string Engine, IReadOnlyList<NodeDto> Nodes);

public sealed record DevTokenRequest(string? User, IReadOnlyList<string>? Channels);

public sealed record DevTokenResponse(string Token, string User, DateTimeOffset ExpiresAt);
