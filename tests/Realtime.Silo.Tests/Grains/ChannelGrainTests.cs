using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orleans.Storage;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Wire;
using Realtime.Grains.Channels;

namespace Realtime.Silo.Tests.Grains;

/// <summary>The channel grain on two real silos: offsets, pushes to the front ends that have members, recovery,
/// presence with its leases, and idle deactivation.</summary>
public sealed class ChannelGrainTests : IAsyncLifetime
{
    private GrainCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await GrainCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static ChannelMember Member(string frontEnd, string client, string user) => new(frontEnd, client, user, frontEnd);

    private static long s_rounds;

    // A renewal as FrontEnd sends it, in a round after every subscribe of these tests (they carry round 0).
    private static ChannelRenewal Renewal(string frontEnd, params ChannelMember[] members) =>
        new(frontEnd, Interlocked.Increment(ref s_rounds), members, Pending: []);

    // A leave as FrontEnd sends it, in the current round: a renewal made before it may still list the client.
    private static Task Leave(IChannelGrain channel, string frontEnd, string client) =>
        channel.UnsubscribeAsync(frontEnd, client, Interlocked.Read(ref s_rounds));

    private static Immutable<byte[]> Json(int n) => Encoding.UTF8.GetBytes($$"""{"n":{{n}}}""").AsImmutable();

    [Fact]
    public async Task Publishes_get_consecutive_offsets_and_reach_the_member_front_end_in_order()
    {
        var frontEnd = await _cluster.ReadFrontEndAsync("fe-1");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:order");
        var joined = await channel.SubscribeAsync(Member("fe-1", "c1", "alice"), new ClientIdentity("alice", []), since: null);

        var offsets = new List<long>();
        for (var i = 1; i <= 50; i++)
        {
            offsets.Add((await channel.PublishAsync(new ClientIdentity("alice", []), Json(i), null)).Offset);
        }

        Assert.Equal(Enumerable.Range(1, 50).Select(i => joined.Offset + i), offsets);
        await Eventually.AssertAsync(() => Assert.Equal(50, frontEnd.Of<MessageEvent>().Count()));
        Assert.Equal(offsets, frontEnd.Of<MessageEvent>().Select(m => m.Publication.Offset));
        Assert.All(frontEnd.Of<MessageEvent>(), m => Assert.Equal("alice", m.Publication.From));
    }

    [Fact]
    public async Task A_front_end_without_members_gets_no_pushes()
    {
        var member = await _cluster.ReadFrontEndAsync("fe-member");
        var stranger = await _cluster.ReadFrontEndAsync("fe-stranger");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:targets");
        await channel.SubscribeAsync(Member("fe-member", "c1", "alice"), new ClientIdentity("alice", []), since: null);

        await channel.PublishAsync(null, Json(1), null);

        await Eventually.AssertAsync(() => Assert.Single(member.Of<MessageEvent>()));
        Assert.Empty(stranger.Events);
    }

    [Fact]
    public async Task Subscribing_since_a_position_returns_every_later_message_once_and_in_order()
    {
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:recover");
        var first = await channel.PublishAsync(null, Json(1), null);
        for (var i = 2; i <= 5; i++)
        {
            await channel.PublishAsync(null, Json(i), null);
        }

        var recovered = await channel.SubscribeAsync(Member("fe-1", "c1", "bob"), new ClientIdentity("bob", []), new StreamPosition(first.Epoch, first.Offset));
        Assert.True(recovered.Recovered);
        Assert.Equal([2L, 3, 4, 5], recovered.Messages.Select(m => m.Offset));

        var wrongEpoch = await channel.SubscribeAsync(Member("fe-1", "c2", "bob"), new ClientIdentity("bob", []), new StreamPosition("other", 1));
        Assert.False(wrongEpoch.Recovered);
        Assert.Empty(wrongEpoch.Messages);
    }

    [Fact]
    public async Task Presence_lists_members_of_every_front_end_and_joins_and_leaves_go_to_the_others()
    {
        var a = await _cluster.ReadFrontEndAsync("fe-a");
        var b = await _cluster.ReadFrontEndAsync("fe-b");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:presence");
        await channel.SubscribeAsync(Member("fe-a", "ca", "alice"), new ClientIdentity("alice", []), since: null);
        await channel.SubscribeAsync(Member("fe-b", "cb", "bob"), new ClientIdentity("bob", []), since: null);

        var listed = await channel.PresenceAsync(null);
        Assert.Equal(["alice", "bob"], listed.Select(e => e.User).Order());
        await Eventually.AssertAsync(() => Assert.Contains(a.Of<PresenceEvent>(), e => e.Joined && e.Entry.User == "bob"));

        await Leave(channel, "fe-b", "cb");

        await Eventually.AssertAsync(() => Assert.Contains(a.Of<PresenceEvent>(), e => !e.Joined && e.Entry.Client == "cb"));
        Assert.Equal(["alice"], (await channel.PresenceAsync(null)).Select(e => e.User));
        var sequences = a.Of<PresenceEvent>().Select(e => e.Sequence).ToList();
        Assert.Equal(sequences.Order(), sequences);
    }

    [Fact]
    public async Task Recent_joins_and_leaves_can_be_read_again_by_a_front_end_whose_stream_lost_them()
    {
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:repair");
        var first = await channel.SubscribeAsync(Member("fe-a", "ca", "alice"), new ClientIdentity("alice", []), since: null);
        await channel.SubscribeAsync(Member("fe-b", "cb", "bob"), new ClientIdentity("bob", []), since: null);
        await Leave(channel, "fe-b", "cb");

        var missed = await channel.PresenceSinceAsync(first.PresenceSequence);
        var renewed = await channel.RenewAsync(Renewal("fe-a", Member("fe-a", "ca", "alice")));

        Assert.NotNull(missed);
        Assert.Equal([(true, "alice"), (true, "bob"), (false, "bob")], missed.Select(e => (e.Joined, e.Entry.User)));
        Assert.Equal(renewed.PresenceSequence, missed[^1].Sequence);
        Assert.Empty((await channel.PresenceSinceAsync(renewed.PresenceSequence))!);
    }

    [Fact]
    public async Task The_members_of_a_front_end_that_stops_renewing_leave_with_leave_pushed_while_renewed_ones_stay()
    {
        // Leases of 10 s, renewed every 100 ms below: only a front end that stopped renewing loses its members.
        await using var cluster = await GrainCluster.StartAsync(new Dictionary<string, string?> { ["Realtime:Silo:NodeTimeout"] = "00:00:10" });
        var watcher = await cluster.ReadFrontEndAsync("fe-live");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:lease");
        var live = Member("fe-live", "c-live", "watcher");
        await channel.SubscribeAsync(live, new ClientIdentity("watcher", []), since: null);
        await channel.SubscribeAsync(Member("fe-dead", "c-dead", "ghost"), new ClientIdentity("ghost", []), since: null);

        // fe-live keeps renewing, as FrontEnd does every heartbeat; fe-dead never does again.
        using var renewing = new CancellationTokenSource();
        var renewals = Task.Run(async () =>
        {
            while (!renewing.IsCancellationRequested)
            {
                await channel.RenewAsync(Renewal("fe-live", live));
                await Task.Delay(100);
            }
        });

        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => !e.Joined && e.Entry.User == "ghost"), TimeSpan.FromSeconds(60));
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        renewing.Cancel();
        await renewals;
    }

    [Fact]
    public async Task A_renewal_that_no_longer_lists_a_member_removes_it_and_one_that_lists_a_lost_member_brings_it_back()
    {
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:renew");
        var kept = Member("fe-1", "kept", "alice");
        await channel.SubscribeAsync(kept, new ClientIdentity("alice", []), since: null);
        await channel.SubscribeAsync(Member("fe-1", "gone", "bob"), new ClientIdentity("bob", []), since: null);

        var renewed = await channel.RenewAsync(Renewal("fe-1", kept, Member("fe-1", "back", "carol")));

        Assert.Equal(["alice", "carol"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
        Assert.Equal(0, renewed.Position.Offset);
    }

    [Fact]
    public async Task A_renewal_whose_list_was_taken_before_a_subscribe_was_sent_keeps_that_member_however_late_it_arrives()
    {
        // fe-1 took its list in round 5; alice's socket subscribed after that (round 5), and the renewal reached the
        // grain only seconds later, past any heartbeat (GrainCluster's is 200 ms).
        var watcher = await _cluster.ReadFrontEndAsync("fe-w");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:late-renewal");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        var bob = Member("fe-1", "cb", "bob") with { Round = 2 };
        await channel.SubscribeAsync(bob, new ClientIdentity("bob", []), since: null);
        await channel.SubscribeAsync(Member("fe-1", "ca", "alice") with { Round = 5 }, new ClientIdentity("alice", []), since: null);
        await Task.Delay(TimeSpan.FromSeconds(1)); // five heartbeats

        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 5, [bob], Pending: []));
        Assert.Equal(["alice", "bob", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());

        // The next round's list would hold her if her socket were still there: she is gone, with a leave.
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 6, [bob], Pending: []));
        Assert.Equal(["bob", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
        await Eventually.AssertAsync(() => Assert.Equal(
            [true, false], watcher.Of<PresenceEvent>().Where(e => e.Entry.Client == "ca").Select(e => e.Joined)));
    }

    [Fact]
    public async Task A_renewal_keeps_a_member_whose_subscribe_reply_had_not_reached_its_front_end_when_it_took_its_list()
    {
        var watcher = await _cluster.ReadFrontEndAsync("fe-w");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:pending");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        await channel.SubscribeAsync(Member("fe-1", "ca", "alice") with { Round = 1 }, new ClientIdentity("alice", []), since: null);
        await Task.Delay(TimeSpan.FromSeconds(1)); // five heartbeats

        // Round 2's list was taken while alice's reply was on its way: fe-1 names her as pending.
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 2, [], Pending: ["ca"]));
        Assert.Equal(["alice", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());

        // A pending client is not brought back as a member: its subscribe may have failed.
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 3, [], Pending: ["cx"]));
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        await Eventually.AssertAsync(() => Assert.Equal(
            [true, false], watcher.Of<PresenceEvent>().Where(e => e.Entry.Client == "ca").Select(e => e.Joined)));
        Assert.DoesNotContain(watcher.Of<PresenceEvent>(), e => e.Entry.Client == "cx");
    }

    [Fact]
    public async Task A_renewal_that_wakes_or_empties_a_channel_while_subscribes_are_on_their_way_leaves_it_active_for_them()
    {
        // The front end's subscribes are queued behind such a renewal: an activation that went would turn them away.
        // A renewal with none on their way, to another channel, shows how soon one that asked to go is gone.
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:woken");
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 1, [], Pending: ["ca"]));
        await _cluster.Client.GetGrain<IChannelGrain>("chat:woken-control").RenewAsync(new ChannelRenewal("fe-1", Round: 1, [], Pending: []));
        await Eventually.TrueAsync(async () => !await IsActiveAsync("chat:woken-control"), "a renewal with no subscribes coming let the channel go");
        Assert.True(await IsActiveAsync("chat:woken"), "the renewal that woke the channel let it go");

        // Alice's subscribe arrives; fe-1's next list no longer holds her (her socket closed), but bob's subscribe is on its way.
        await channel.SubscribeAsync(Member("fe-1", "ca", "alice") with { Round = 1 }, new ClientIdentity("alice", []), since: null);
        var control = _cluster.Client.GetGrain<IChannelGrain>("chat:emptied-control");
        await control.SubscribeAsync(Member("fe-1", "ca", "alice") with { Round = 1 }, new ClientIdentity("alice", []), since: null);
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 2, [], Pending: ["cb"]));
        await control.RenewAsync(new ChannelRenewal("fe-1", Round: 2, [], Pending: []));
        await Eventually.TrueAsync(async () => !await IsActiveAsync("chat:emptied-control"), "a renewal that emptied the channel let it go");
        Assert.True(await IsActiveAsync("chat:woken"), "the renewal that emptied the channel let it go");
        Assert.Empty(await channel.PresenceAsync(null)); // (a call that would wake it: last)
    }

    [Fact]
    public async Task Leaves_renewals_and_subscribes_of_a_front_end_are_ordered_by_its_rounds()
    {
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:rounds");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        var alice = Member("fe-1", "ca", "alice") with { Round = 3 };
        await channel.SubscribeAsync(alice, new ClientIdentity("alice", []), since: null);

        // A leave fe-1 sent in round 2 (after an eviction, without waiting) arrives after her new subscribe of round 3.
        await channel.UnsubscribeAsync("fe-1", "ca", round: 2);
        Assert.Equal(["alice", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());

        // She leaves in round 4. A renewal of round 4 took its list before that, and does not bring her back; one of
        // round 5 took it after, so listing her means the grain lost her (a new activation, say): she comes back.
        await channel.UnsubscribeAsync("fe-1", "ca", round: 4);
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 4, [alice], Pending: []));
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        await channel.RenewAsync(new ChannelRenewal("fe-1", Round: 5, [alice with { Round = 5 }], Pending: []));
        Assert.Equal(["alice", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
    }

    [Fact]
    public async Task A_renewal_taken_before_an_unsubscribe_does_not_bring_the_member_back_however_late_it_arrives()
    {
        var watcher = await _cluster.ReadFrontEndAsync("fe-w");
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:stale");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        var alice = Member("fe-1", "ca", "alice");
        await channel.SubscribeAsync(alice, new ClientIdentity("alice", []), since: null);

        // fe-1 took its list while alice was still subscribed; the renewal reaches the grain after her unsubscribe,
        // and seconds later at that, past any heartbeat (GrainCluster's is 200 ms).
        var stale = Renewal("fe-1", alice);
        await Leave(channel, "fe-1", "ca");
        await Task.Delay(TimeSpan.FromSeconds(1));
        await channel.RenewAsync(stale);

        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => !e.Joined && e.Entry.Client == "ca"));

        // Subscribing again is a join like any other, and later renewals keep her.
        await channel.SubscribeAsync(alice, new ClientIdentity("alice", []), since: null);
        await channel.RenewAsync(Renewal("fe-1", alice));
        Assert.Equal(["alice", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
        await Eventually.AssertAsync(() => Assert.Equal(
            [true, false, true], watcher.Of<PresenceEvent>().Where(e => e.Entry.Client == "ca").Select(e => e.Joined)));
    }

    [Fact]
    public async Task A_member_whose_join_is_still_being_stored_stays_though_a_renewal_could_not_list_it_yet()
    {
        // Heartbeats of 200 ms (GrainCluster's), so the join's write is held for several of them.
        await using var cluster = await GrainCluster.StartAsync(configureSilo: FailingGrainStorage.Replace);
        var watcher = await cluster.ReadFrontEndAsync("fe-w");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:slowjoin");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        var bob = Member("fe-1", "cb", "bob");
        await channel.SubscribeAsync(bob, new ClientIdentity("bob", []), since: null);

        // Storage is slow to answer: alice's subscribe waits on its write for well over a heartbeat.
        Task<SubscribeResult> joining;
        using (var held = FailingGrainStorage.HoldWrites())
        {
            joining = channel.SubscribeAsync(Member("fe-1", "ca", "alice"), new ClientIdentity("alice", []), since: null);
            await held.WriteWaitingAsync("alice's join waits on storage");
            await Task.Delay(TimeSpan.FromMilliseconds(1000)); // five heartbeats

            // fe-1 renews meanwhile; alice's subscribe has not returned, so its list has only bob. A renewal that
            // dropped her would wait on storage too, to write her leave.
            var renewal = channel.RenewAsync(Renewal("fe-1", bob));
            Assert.True(await Task.WhenAny(renewal, Task.Delay(TimeSpan.FromSeconds(30))) == renewal,
                "the renewal waited on storage: it dropped alice while her join was being stored");
        }

        await joining;
        Assert.Equal(["alice", "bob", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
        // One join and no leave: the grain's events reach the watcher in order, so a leave would have come first.
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => e.Joined && e.Entry.Client == "ca"));
        Assert.Equal([true], watcher.Of<PresenceEvent>().Where(e => e.Entry.Client == "ca").Select(e => e.Joined));
    }

    [Fact]
    public async Task A_member_that_leaves_while_its_join_is_being_stored_gets_no_join_after_its_leave()
    {
        await using var cluster = await GrainCluster.StartAsync(configureSilo: FailingGrainStorage.Replace);
        var watcher = await cluster.ReadFrontEndAsync("fe-w");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:quickleave");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);

        // Alice's join waits on storage; she unsubscribes meanwhile, and that write waits too.
        Task joining, leaving;
        using (var held = FailingGrainStorage.HoldWrites())
        {
            joining = channel.SubscribeAsync(Member("fe-1", "ca", "alice"), new ClientIdentity("alice", []), since: null);
            await held.WriteWaitingAsync("alice's join waits on storage");
            leaving = Leave(channel, "fe-1", "ca");
            await Eventually.AssertAsync(async () => Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User)));
        }

        await Task.WhenAll(joining, leaving);

        // Bob's join comes after anything pushed for alice (the grain's events reach the watcher in order).
        await channel.SubscribeAsync(Member("fe-1", "cb", "bob"), new ClientIdentity("bob", []), since: null);
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => e.Joined && e.Entry.Client == "cb"));
        Assert.Equal(["bob", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
        Assert.DoesNotContain(watcher.Of<PresenceEvent>(), e => e.Joined && e.Entry.Client == "ca");
    }

    [Fact]
    public async Task A_presence_entry_the_engine_could_not_remove_is_removed_by_the_lease_timer_with_leave_pushed()
    {
        // Leases long enough that nothing expires; the lease timer (every heartbeat) is what tries the write again.
        await using var cluster = await GrainCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.200",
            ["Realtime:Silo:NodeTimeout"] = "00:01:00",
        }, FailingGrainStorage.Replace);
        var watcher = await cluster.ReadFrontEndAsync("fe-w");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:unsaved");
        await channel.SubscribeAsync(Member("fe-w", "cw", "watcher"), new ClientIdentity("watcher", []), since: null);
        await channel.SubscribeAsync(Member("fe-1", "ca", "alice"), new ClientIdentity("alice", []), since: null);
        Assert.Equal(["ca", "cw"], FailingGrainStorage.MembersStored("chat:unsaved").Order());

        // Storage refuses the removal's write and the first retry, as while PostgreSQL restarts.
        FailingGrainStorage.FailNext(2);
        await Leave(channel, "fe-1", "ca");

        // The leave goes out at once, the live list is right, and the stored list catches up: a later activation
        // (this silo dies) must not bring alice back as a ghost.
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => !e.Joined && e.Entry.Client == "ca"));
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
        await Eventually.AssertAsync(() => Assert.Equal(["cw"], FailingGrainStorage.MembersStored("chat:unsaved")));
        Assert.Equal(2, FailingGrainStorage.Refused);
    }

    [Fact]
    public async Task Members_joining_while_storage_is_still_serialising_the_last_write_all_get_in()
    {
        // The grain is reentrant: subscribes keep changing the members while a write is being serialised elsewhere.
        FailingGrainStorage.SlowSerialiser = true;
        try
        {
            await using var cluster = await GrainCluster.StartAsync(configureSilo: FailingGrainStorage.Replace);
            var channel = cluster.Client.GetGrain<IChannelGrain>("chat:busy");

            await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
                channel.SubscribeAsync(Member("fe-1", $"c{i}", $"user{i}"), new ClientIdentity($"user{i}", []), since: null)));

            Assert.Equal(200, (await channel.PresenceAsync(null)).Count);
            await Eventually.AssertAsync(() => Assert.Equal(200, FailingGrainStorage.MembersStored("chat:busy").Length));
        }
        finally
        {
            FailingGrainStorage.SlowSerialiser = false;
        }
    }

    [Fact]
    public async Task A_channel_whose_last_member_leaves_is_deactivated()
    {
        var channel = _cluster.Client.GetGrain<IChannelGrain>("chat:idle");
        await channel.SubscribeAsync(Member("fe-1", "c1", "alice"), new ClientIdentity("alice", []), since: null);
        Assert.True(await IsActiveAsync("chat:idle"));

        await Leave(channel, "fe-1", "c1");

        await Eventually.TrueAsync(async () => !await IsActiveAsync("chat:idle"), "the channel grain deactivated");
    }

    [Fact]
    public async Task A_leave_whose_push_failed_is_pushed_by_the_next_activation_when_orleans_deactivates_this_one()
    {
        // While the silo holding a stream queue is down pushes fail, and Orleans deactivates the channel's activation
        // if that silo also held its directory entry: the leave waiting to be pushed must not go with it.
        var pushes = new FailingPushes();
        await using var cluster = await GrainCluster.StartAsync(configureSilo: pushes.AddTo);
        var watcher = await cluster.ReadFrontEndAsync("fe-watch");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:unsent");
        var live = Member("fe-watch", "c-watch", "watcher");
        await channel.SubscribeAsync(live, new ClientIdentity("watcher", []), since: null);
        await channel.SubscribeAsync(Member("fe-gone", "c-gone", "ghost"), new ClientIdentity("ghost", []), since: null);
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => e.Joined && e.Entry.Client == "c-gone"));
        var joined = watcher.Of<PresenceEvent>().Single(e => e.Entry.Client == "c-gone").Sequence;

        pushes.Failing = true;
        await Leave(channel, "fe-gone", "c-gone");
        Assert.True(pushes.Refused > 0, "the leave's push failed");
        await channel.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () => !await IsActiveAsync(cluster, "chat:unsent"), "the activation is gone");
        Assert.DoesNotContain(watcher.Of<PresenceEvent>(), e => !e.Joined);

        // The front end's next renewal (one each heartbeat) wakes the channel; the leave goes out, and the new
        // activation lists it for a front end that asks what it missed.
        pushes.Failing = false;
        await channel.RenewAsync(Renewal("fe-watch", live));
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => !e.Joined && e.Entry.Client == "c-gone"));
        var missed = await channel.PresenceSinceAsync(joined);
        Assert.Equal([(false, "c-gone")], missed!.Select(e => (e.Joined, e.Entry.Client)));
        Assert.Equal(["watcher"], (await channel.PresenceAsync(null)).Select(e => e.User));
    }

    [Fact]
    public async Task A_channel_that_had_no_members_writes_nothing_to_grain_storage_when_it_deactivates()
    {
        await using var cluster = await GrainCluster.StartAsync(configureSilo: FailingGrainStorage.Replace);
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:publish-only");
        await channel.PublishAsync(null, Json(1), null);

        await channel.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.TrueAsync(async () => !await IsActiveAsync(cluster, "chat:publish-only"), "the activation is gone");

        Assert.Equal(0, FailingGrainStorage.Writes("chat:publish-only"));
    }

    [Fact]
    public async Task A_write_that_lost_to_another_activation_takes_its_state_so_later_writes_succeed_and_its_unsent_leave_goes_out()
    {
        await using var cluster = await GrainCluster.StartAsync();
        var watcher = await cluster.ReadFrontEndAsync("fe-watch");
        var channel = cluster.Client.GetGrain<IChannelGrain>("chat:etag");
        await channel.SubscribeAsync(Member("fe-watch", "c-watch", "watcher"), new ClientIdentity("watcher", []), since: null);
        await Eventually.AssertAsync(() => Assert.Single(watcher.Of<PresenceEvent>()));
        var joined = watcher.Of<PresenceEvent>().Single().Sequence;

        // Another activation (Orleans can run two while it rebuilds a dead silo's grain directory) stores its state,
        // with a leave it could not push.
        var storage = cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(Realtime.Grains.RealtimeProviders.Storage);
        var other = new GrainState<ChannelMembers>();
        await storage.ReadStateAsync("members", channel.GetGrainId(), other);
        var leave = new PresenceEvent("chat:etag", new PresenceEntry("c-other", "ghost", "fe-other"), Joined: false, joined - 10);
        other.State!.Unsent = [leave];
        await storage.WriteStateAsync("members", channel.GetGrainId(), other);

        // This activation's next write loses (its ETag is stale); the one after, at the next lease check, stores it.
        var refused = await Assert.ThrowsAsync<RealtimeException>(() => channel.SubscribeAsync(Member("fe-watch", "c-bob", "bob"), new ClientIdentity("bob", []), since: null));
        Assert.Equal(ErrorCodes.Unavailable, refused.Code);
        await Eventually.AssertAsync(() => Assert.Contains(watcher.Of<PresenceEvent>(), e => e == leave));
        await channel.SubscribeAsync(Member("fe-watch", "c-bob", "bob"), new ClientIdentity("bob", []), since: null);
        Assert.Equal(["bob", "watcher"], (await channel.PresenceAsync(null)).Select(e => e.User).Order());
    }

    [Fact]
    public void The_members_and_unsent_joins_and_leaves_read_back_through_the_storage_serialiser_of_the_PostgreSQL_provider()
    {
        // The ADO.NET grain storage writes with the silo's IGrainStorageSerializer (JSON): a state it cannot read back
        // would fail every later activation of the channel.
        var serializer = _cluster.Cluster.GetSiloServiceProvider().GetRequiredService<IGrainStorageSerializer>();
        var leave = new PresenceEvent("chat:stored", new PresenceEntry("c1", "ghost", "node-a"), Joined: false, 639_319_060_911_535_371);
        var stored = new ChannelMembers { Members = { ["c2"] = Member("fe-1", "c2", "watcher") with { Round = 42 } }, Unsent = [leave] };

        var read = serializer.Deserialize<ChannelMembers>(serializer.Serialize(stored))!;

        Assert.Equal(stored.Members, read.Members);
        Assert.Equal([leave], read.Unsent!);
        Assert.Null(serializer.Deserialize<ChannelMembers>(serializer.Serialize(new ChannelMembers()))!.Unsent);

        // Stored before members carried their round: read as round 0, which any renewal of their front end may drop.
        var json = serializer.Serialize(stored).ToString();
        var withoutRound = System.Text.RegularExpressions.Regex.Replace(json, @",\s*""Round""\s*:\s*42", "");
        Assert.NotEqual(json, withoutRound);
        var old = serializer.Deserialize<ChannelMembers>(BinaryData.FromString(withoutRound))!;
        Assert.Equal(stored.Members["c2"] with { Round = 0 }, old.Members["c2"]);
    }

    [Fact]
    public async Task A_restricted_namespace_refuses_a_token_without_the_channel()
    {
        await using var cluster = await GrainCluster.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:team:Restricted"] = "true" });
        var channel = cluster.Client.GetGrain<IChannelGrain>("team:7");

        var refused = await Assert.ThrowsAsync<RealtimeException>(() => channel.SubscribeAsync(Member("fe-1", "c1", "eve"), new ClientIdentity("eve", ["team:8"]), since: null));

        Assert.Equal(ErrorCodes.Forbidden, refused.Code);
        var allowed = await channel.SubscribeAsync(Member("fe-1", "c2", "tim"), new ClientIdentity("tim", ["team:*"]), since: null);
        Assert.True(allowed.Recovered);
    }

    private Task<bool> IsActiveAsync(string channel) => IsActiveAsync(_cluster, channel);

    private static async Task<bool> IsActiveAsync(GrainCluster cluster, string channel)
    {
        var stats = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return stats.Any(s => s.GrainId.ToString().EndsWith("/" + channel, StringComparison.Ordinal) && s.GrainType.Contains("ChannelGrain", StringComparison.Ordinal));
    }
}
