namespace Realtime.Api.Auth;

/// <summary>What a valid client token says: who the user is, until when, and which restricted channels it may use.</summary>
public sealed record TokenClaims(string User, DateTimeOffset ExpiresAt, IReadOnlyList<string> Channels);
