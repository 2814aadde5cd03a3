using Realtime.Contracts.Channels;

namespace Realtime.Contracts.Grains;

/// <summary>Who is calling from a socket: the token's subject and the channel patterns it grants.
/// Calls from the REST API are trusted and carry no identity.</summary>
[GenerateSerializer, Immutable, Alias("realtime.client-identity")]
public sealed record ClientIdentity([property: Id(0)] string User, [property: Id(1)] IReadOnlyList<string> Channels)
{
    public bool Grants(string channel)
    {
        foreach (var pattern in Channels)
        {
            if (ChannelName.Matches(pattern, channel))
            {
                return true;
            }
        }

        return false;
    }
}
