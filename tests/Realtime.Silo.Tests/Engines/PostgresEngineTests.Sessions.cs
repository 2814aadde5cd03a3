using System.Collections.Concurrent;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Streams;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Postgres;
using Realtime.Testing;

namespace Realtime.Silo.Tests.Engines;

// PostgreSQL ends one session of a node (an administrator, a failover, a proxy's idle timeout): the node must
// notice, and the cluster must stay correct while it does.
public sealed partial class PostgresEngineTests
{
    // NOTIFYs sent while a node is not listening are lost to it. Once it listens again it must say so with a resync
    // on every stream it observes, so its channels read what they missed from history (ChannelGrain refills the gap).
    [Fact]
    public async Task A_node_whose_listen_session_is_terminated_listens_again_and_signals_a_resync_for_what_it_missed()
    {
        var channel = Unique("chat:resync");
        var name = Unique("listener");
        // A slow reconnect keeps the node deaf long enough for the other node's appends to fall in the gap.
        await using var node = await StartEngineAsync(new PostgresOptions
        {
            ConnectionString = $"{postgres.ConnectionString};Application Name={name}",
            ReconnectDelay = TimeSpan.FromSeconds(3),
        }, Retention, Clock);
        var heard = new ConcurrentQueue<StreamEvent>();
        using var subscription = node.Subscribe(StreamKey.ForChannel(channel), heard.Enqueue);
        await AppendAsync(channel, 1);
        await Eventually.AssertAsync(() => Assert.Single(heard));

        Assert.Equal(1, await TerminateSessionsAsync($"application_name = '{name}' and query ilike 'listen %'"));
        await Eventually.AssertAsync(async () => Assert.False(await node.IsReadyAsync(CancellationToken.None)));
        await AppendAsync(channel, 2); // through the suite's own engine: another node
        await AppendAsync(channel, 3);
        Assert.False(await node.IsReadyAsync(CancellationToken.None), "both appends fell while the node was not listening");

        await Eventually.AssertAsync(() => Assert.IsType<ResyncEvent>(heard.Last()), TimeSpan.FromSeconds(15));
        Assert.True(await node.IsReadyAsync(CancellationToken.None));
        Assert.Equal([1L], PublishedOffsets(heard)); // the gap was never heard: only history has it
        Assert.Equal([2L, 3L], Offsets(await node.ReadHistoryAsync(channel, new HistoryQuery(100, After: 1), CancellationToken.None)));

        await AppendAsync(channel, 4);
        await Eventually.AssertAsync(() => Assert.Equal([1L, 4L], PublishedOffsets(heard)));
    }

    [Fact]
    public async Task While_one_node_leads_the_cluster_jobs_another_cannot_until_the_leader_stops()
    {
        var second = await SecondNodeAsync();
        Assert.True(await Engine.TryLeadAsync(CancellationToken.None));
        Assert.False(await second.TryLeadAsync(CancellationToken.None));
        Assert.True(await Engine.TryLeadAsync(CancellationToken.None), "the leader keeps leading");
        Assert.False(await second.TryLeadAsync(CancellationToken.None), "asking again does not take it over");

        await Engine.StopAsync(CancellationToken.None);

        await Eventually.AssertAsync(async () => Assert.True(await second.TryLeadAsync(CancellationToken.None)));
    }

    // A leader that crashes or loses its session loses the lock with it: PostgreSQL releases it, another node takes
    // over, and the old leader learns at its next round that it no longer leads. No lease of our own expires.
    [Fact]
    public async Task When_the_leaders_session_is_terminated_another_node_takes_over_and_the_old_leader_does_not_take_it_back()
    {
        var second = await SecondNodeAsync();
        Assert.True(await Engine.TryLeadAsync(CancellationToken.None));
        Assert.False(await second.TryLeadAsync(CancellationToken.None));

        // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid).
        Assert.Equal(1, await TerminateSessionsAsync($"""
            pid in (select pid from pg_locks where locktype = 'advisory' and granted and objsubid = 1
                    and database = (select oid from pg_database where datname = current_database())
                    and (classid::bigint << 32 | objid::bigint) = {PostgresSchema.LeaderLock})
            """));

        await Eventually.AssertAsync(async () => Assert.True(await second.TryLeadAsync(CancellationToken.None)));
        Assert.False(await LeadsAsync(Engine), "the old leader learns it lost its session");
        Assert.False(await LeadsAsync(Engine), "and cannot take the lock back while the new leader holds it");
        Assert.True(await second.TryLeadAsync(CancellationToken.None));
    }

    // As ClusterJobs sees an attempt: an engine that cannot answer does not lead this round.
    private static async Task<bool> LeadsAsync(IRealtimeEngine engine)
    {
        try
        {
            return await engine.TryLeadAsync(CancellationToken.None);
        }
        catch (EngineUnavailableException)
        {
            return false;
        }
    }

    private static long[] PublishedOffsets(IEnumerable<StreamEvent> events) =>
        events.OfType<PublicationEvent>().Select(e => e.Publication.Offset).ToArray();

    private Task<long> TerminateSessionsAsync(string where) => PostgresServer.TerminateSessionsAsync(postgres.ConnectionString, where);
}
