using Microsoft.Extensions.Options;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;

namespace Realtime.Grains.Channels;

/// <summary>Decides what a caller may do with a channel, from its namespace's options and the token's
/// <c>channels</c> claim. Trusted callers (the REST API) pass no identity and may do anything.</summary>
public sealed class ChannelAccess(IOptions<NamespacesOptions> namespaces, IOptions<LimitsOptions> limits)
{
    public NamespaceOptions OptionsFor(string channel) => namespaces.Value.For(channel);

    public void Demand(ClientIdentity? caller, string channel, string action)
    {
        if (caller is not null && OptionsFor(channel).Restricted && !caller.Grants(channel))
        {
            throw new RealtimeException(ErrorCodes.Forbidden, $"your token does not allow you to {action} '{channel}'");
        }
    }

    public void DemandPublish(ClientIdentity? caller, string channel, int dataBytes)
    {
        if (caller is not null && !OptionsFor(channel).ClientPublish)
        {
            throw new RealtimeException(ErrorCodes.Forbidden, $"clients may not publish to '{channel}'; publish through the REST API");
        }

        Demand(caller, channel, "publish to");
        DemandSize(dataBytes);
    }

    public void DemandSize(int dataBytes)
    {
        var max = limits.Value.MaxMessageBytes;
        if (dataBytes > max)
        {
            throw new RealtimeException(ErrorCodes.TooLarge, $"data is {dataBytes} bytes; the limit is {max}");
        }
    }
}
