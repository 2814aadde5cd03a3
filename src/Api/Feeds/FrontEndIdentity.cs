using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Realtime.Grains;

namespace Realtime.Api.Feeds;

/// <summary>This front-end process: <see cref="Node"/> is the configured node id shown to clients and in
/// presence; <see cref="Id"/> adds a suffix new with every start, so the streams of a restarted front end are
/// new ones, never shared with the subscriptions its previous process left behind.</summary>
internal sealed class FrontEndIdentity(IOptions<RealtimeOptions> realtime)
{
    public string Node { get; } = realtime.Value.NodeId;

    public string Id { get; } = $"{realtime.Value.NodeId}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
}
