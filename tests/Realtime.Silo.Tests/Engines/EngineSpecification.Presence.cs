using Realtime.Contracts.Presence;

namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    [Fact]
    public async Task Presence_lists_the_clients_added_until_they_are_removed()
    {
        var channel = Unique("chat:presence");
        var alice = new PresenceEntry(Unique("c"), "alice", "node-a");
        var bob = new PresenceEntry(Unique("c"), "bob", "node-b");

        await Engine.AddPresenceAsync(channel, alice, CancellationToken.None);
        await Engine.AddPresenceAsync(channel, bob, CancellationToken.None);
        await Engine.AddPresenceAsync(channel, alice, CancellationToken.None);
        Assert.Equal([alice, bob], (await Engine.ListPresenceAsync(channel, CancellationToken.None)).OrderBy(e => e.User));

        Assert.True(await Engine.RemovePresenceAsync(channel, alice.Client, CancellationToken.None));
        Assert.False(await Engine.RemovePresenceAsync(channel, alice.Client, CancellationToken.None));
        Assert.Equal([bob], await Engine.ListPresenceAsync(channel, CancellationToken.None));

        Assert.True(await Engine.RemovePresenceAsync(channel, bob.Client, CancellationToken.None));
        Assert.Empty(await Engine.ListPresenceAsync(channel, CancellationToken.None));
    }

    [Fact]
    public async Task Presence_added_on_one_node_is_listed_on_another()
    {
        var channel = Unique("chat:presence");
        var second = await SecondNodeAsync();
        var entry = new PresenceEntry(Unique("c"), "alice", "node-a");

        await Engine.AddPresenceAsync(channel, entry, CancellationToken.None);

        Assert.Equal([entry], await second.ListPresenceAsync(channel, CancellationToken.None));
        Assert.Empty(await second.ListPresenceAsync(Unique("chat:empty"), CancellationToken.None));
    }

    [Fact]
    public async Task A_heartbeat_registers_the_node_with_its_counts()
    {
        var node = Unique("node");

        await Engine.HeartbeatAsync(new NodeStatus(node, Clock.GetUtcNow(), Connections: 3, Channels: 2), CancellationToken.None);
        var first = Assert.Single(await Engine.ListNodesAsync(CancellationToken.None), n => n.Node == node);
        await Engine.HeartbeatAsync(new NodeStatus(node, Clock.GetUtcNow(), Connections: 5, Channels: 1), CancellationToken.None);
        var second = Assert.Single(await Engine.ListNodesAsync(CancellationToken.None), n => n.Node == node);

        Assert.Equal((3, 2), (first.Connections, first.Channels));
        Assert.Equal((5, 1), (second.Connections, second.Channels));
    }

    [Fact]
    public async Task Expiring_dead_nodes_removes_their_presence_and_returns_it()
    {
        var dead = Unique("dead");
        var live = Unique("live");
        var lobby = Unique("chat:lobby");
        var games = Unique("chat:games");
        var ghost1 = new PresenceEntry(Unique("c"), "alice", dead);
        var ghost2 = new PresenceEntry(Unique("c"), "alice", dead);
        var survivor = new PresenceEntry(Unique("c"), "bob", live);
        await Engine.HeartbeatAsync(new NodeStatus(dead, Clock.GetUtcNow(), 1, 2), CancellationToken.None);
        await Engine.HeartbeatAsync(new NodeStatus(live, Clock.GetUtcNow(), 1, 1), CancellationToken.None);
        await Engine.AddPresenceAsync(lobby, ghost1, CancellationToken.None);
        await Engine.AddPresenceAsync(games, ghost2, CancellationToken.None);
        await Engine.AddPresenceAsync(lobby, survivor, CancellationToken.None);

        Clock.Advance(TimeSpan.FromSeconds(20));
        await Engine.HeartbeatAsync(new NodeStatus(live, Clock.GetUtcNow(), 1, 1), CancellationToken.None);
        var removed = await Engine.ExpireDeadNodesAsync(TimeSpan.FromSeconds(10), CancellationToken.None);

        // Other tests' nodes may share the store; look only at this test's channels.
        var mine = removed.Where(r => r.Channel == lobby || r.Channel == games).OrderBy(r => r.Channel, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { (games, ghost2), (lobby, ghost1) }.OrderBy(r => r.Item1, StringComparer.Ordinal), mine);
        Assert.Equal([survivor], await Engine.ListPresenceAsync(lobby, CancellationToken.None));
        Assert.Empty(await Engine.ListPresenceAsync(games, CancellationToken.None));
        var nodes = (await Engine.ListNodesAsync(CancellationToken.None)).Select(n => n.Node).ToArray();
        Assert.Contains(live, nodes);
        Assert.DoesNotContain(dead, nodes);

        var again = await Engine.ExpireDeadNodesAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.DoesNotContain(again, r => r.Channel == lobby || r.Channel == games);
    }

    [Fact]
    public async Task A_single_node_wins_the_cluster_jobs_leadership()
    {
        Assert.True(await Engine.TryLeadAsync(CancellationToken.None));
        Assert.True(await Engine.TryLeadAsync(CancellationToken.None));
    }
}
