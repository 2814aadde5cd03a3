namespace Realtime.Contracts.Channels;

/// <summary>
/// Channel names are <c>namespace:name</c>; a name with no colon lives in the default namespace.
/// Characters <c>[A-Za-z0-9_.:@-]</c>, at most 200 of them (SPEC §6).
/// </summary>
public static class ChannelName
{
    public const int MaxLength = 200;
    public const string DefaultNamespace = "";

    public static bool IsValid(string? channel, out string? problem)
    {
        problem = channel switch
        {
            null or "" => "channel name is empty",
            { Length: > MaxLength } => $"channel name is longer than {MaxLength} characters",
            _ when channel.AsSpan().IndexOfAnyExcept(AllowedChars) >= 0 => "channel name may only contain A-Z a-z 0-9 _ . : @ -",
            _ when channel[0] == ':' || channel[^1] == ':' => "channel name must not start or end with ':'",
            _ => null,
        };
        return problem is null;
    }

    /// <summary>The namespace of a valid channel name: what precedes the first colon.</summary>
    public static string NamespaceOf(string channel)
    {
        var colon = channel.IndexOf(':');
        return colon < 0 ? DefaultNamespace : channel[..colon];
    }

    /// <summary>True when <paramref name="pattern"/> (exact, or a prefix ending in '*') covers the channel.</summary>
    public static bool Matches(string pattern, string channel) =>
        pattern.EndsWith('*')
            ? channel.AsSpan().StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, channel, StringComparison.Ordinal);

    private static readonly System.Buffers.SearchValues<char> AllowedChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-");
}
