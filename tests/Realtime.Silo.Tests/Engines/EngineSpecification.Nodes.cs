using Realtime.Contracts.Presence;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    [Fact]
    public async Task Removing_a_node_removes_its_presence_entries_and_returns_them_even_without_a_heartbeat()
    {
        var channel = Unique("chat:restart");
        var restarted = Unique("node");
        var other = Unique("node");
        await Engine.AddPresenceAsync(channel, new PresenceEntry("c1", "alice", restarted), CancellationToken.None);
        await Engine.AddPresenceAsync(channel, new PresenceEntry("c2", "bob", other), CancellationToken.None);
        await Engine.HeartbeatAsync(new NodeStatus(other, Clock.GetUtcNow(), 1, 1), CancellationToken.None);

        var removed = await Engine.RemoveNodeAsync(restarted, CancellationToken.None);

        Assert.Equal([(channel, "c1")], removed.Select(r => (r.Channel, r.Entry.Client)));
        Assert.Equal(["c2"], (await Engine.ListPresenceAsync(channel, CancellationToken.None)).Select(e => e.Client));
        Assert.Contains(other, (await Engine.ListNodesAsync(CancellationToken.None)).Select(n => n.Node));
    }
}
