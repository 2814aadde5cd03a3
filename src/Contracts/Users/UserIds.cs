namespace Realtime.Contracts.Users;

/// <summary>What a user id may be, wherever one arrives (a token's <c>sub</c>, <c>send</c>, REST paths and bodies): 1 to
/// 200 characters, not all of them white space (Orleans refuses such a grain key, which would surface as an internal error).</summary>
public static class UserIds
{
    public const int MaxLength = 200;

    public static bool IsValid(string? id) => id is { Length: > 0 and <= MaxLength } && !string.IsNullOrWhiteSpace(id);
}
