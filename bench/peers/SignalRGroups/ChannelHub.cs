using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace Realtime.Bench.SignalRGroups;

/// <summary>
/// <c>Subscribe(channel)</c> joins the channel's group; <c>Publish(channel, data)</c> sends
/// <c>m(channel, data)</c> to the group. SignalR serialises a group message once per protocol and writes
/// the same bytes to every member.
/// </summary>
internal sealed class ChannelHub : Hub
{
    public Task Subscribe(string channel) => Groups.AddToGroupAsync(Context.ConnectionId, channel);

    public Task Publish(string channel, JsonElement data) => Clients.Group(channel).SendAsync("m", channel, data);
}
