using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using StreamPosition = Realtime.Contracts.Wire.StreamPosition;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Wire;
using Realtime.Grains.Diagnostics;
using Realtime.Grains.Stores;

namespace Realtime.Grains.Channels;

/// <summary>
/// One channel in the cluster. Offsets come from the store's atomic append; each message then goes to
/// every front end that has members here, on that front end's stream, and the front end fans it out to its
/// sockets. Reentrant: a publish waiting on the store never holds up another.
/// </summary>
[Reentrant]
internal sealed partial class ChannelGrain(
    [PersistentState("members", RealtimeProviders.Storage)] IPersistentState<ChannelMembers> state,
    IChannelLog log,
    ChannelAccess access,
    IOptions<SiloOptions> silo,
    RealtimeMetrics metrics,
    TimeProvider time,
    ILogger<ChannelGrain> logger) : Grain, IChannelGrain
{
    private readonly Dictionary<string, DateTimeOffset> _leases = [];      // front end → last renewal
    private readonly Dictionary<string, Leave> _leftAt = [];               // client → its unsubscribe, for a node timeout
    private readonly Dictionary<string, int> _subscribing = [];             // client → its subscribes that have not returned yet
    private IAsyncStream<RealtimeEvent>[] _targets = [];                   // one stream per front end with members
    private string _channel = "";
    private NamespaceOptions _options = new();
    private IStreamProvider _streams = null!;
    private IGrainTimer? _leaseTimer;
    private string _epoch = "";
    private long _top;

    // Orders this channel's presence events; seeded from the clock so a later activation keeps counting upwards.
    private readonly long _presenceSeed = DateTime.UtcNow.Ticks;
    private long _presenceSequence;
    private long _presenceFloor; // the sequence before this activation's first event

    // The live members. Grain storage gets a copy at each write: the grain is reentrant, and a storage provider may
    // serialise the state off the grain's scheduler (the ADO.NET one does) while the next turn changes the members.
    private Dictionary<string, ChannelMember> Members { get; set; } = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _channel = this.GetPrimaryKeyString();
        _presenceSequence = _presenceFloor = _presenceSeed;
        _options = access.OptionsFor(_channel);
        _streams = this.GetStreamProvider(RealtimeStreams.Provider);
        var page = await EngineCall.Run(() => log.ReadHistoryAsync(_channel, new HistoryQuery(0), cancellationToken));
        (_epoch, _top) = (page.Epoch, page.Offset);

        // Members loaded from storage get a whole lease: a live front end renews them, a dead one's leave.
        Members = new Dictionary<string, ChannelMember>(state.State.Members);
        var now = time.GetUtcNow();
        foreach (var member in Members.Values)
        {
            _leases[member.FrontEnd] = now;
        }

        MembersChanged();
        _saved = _version; // as stored
        ReloadUnsent(state.State.Unsent);
        metrics.GrainActivated();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Orleans deactivates an activation whose directory entry was on a silo that died, maybe while a leave waits
        // for the stream queues of that silo: storage keeps it for the next activation.
        if (_options.Presence && _saved < _version)
        {
            await SaveAsync(throwOnFailure: false);
        }

        metrics.GrainDeactivated();
    }

    public async Task<SubscribeResult> SubscribeAsync(ChannelMember member, ClientIdentity identity, StreamPosition? since)
    {
        access.Demand(identity, _channel, "subscribe to");

        // A member before the position is read: a message appended after this turn goes to the member's front
        // end, one appended before it is at or below the position the reply carries.
        _leases[member.FrontEnd] = time.GetUtcNow();
        var joined = Add(member);
        // Until this returns, the front end cannot list the member in a renewal: the grain is reentrant, and a
        // renewal that arrives while the history read or the write below waits must not drop it (the front end
        // lists it as pending, but a renewal taken before this subscribe was sent does not). Counted: a retried
        // subscribe can overlap one still waiting.
        _subscribing[member.Client] = _subscribing.GetValueOrDefault(member.Client) + 1;
        try
        {
            var presenceFloor = _presenceSequence;
            SubscribeResult result;
            try
            {
                result = since is { } position ? await RecoverAsync(position) with { PresenceSequence = presenceFloor }
                    : new SubscribeResult(_channel, _epoch, _top, Recovered: true, [], presenceFloor);
                if (joined && _options.Presence)
                {
                    await SaveAsync(throwOnFailure: true);
                }
            }
            catch (Exception) when (joined)
            {
                // Not recovered or not stored, so not joined: the client is told why, and no join (or later leave) is pushed.
                if (Members.Remove(member.Client))
                {
                    MembersChanged();
                }

                throw;
            }

            // A member that left while this waited (an unsubscribe, its front end's lease) had its leave pushed: no join after it.
            if (joined && _options.Presence && _options.JoinLeave && Members.ContainsKey(member.Client))
            {
                await EmitAsync(new PresenceEvent(_channel, EntryOf(member), Joined: true, ++_presenceSequence));
            }

            return result;
        }
        finally
        {
            if (--_subscribing[member.Client] == 0)
            {
                _subscribing.Remove(member.Client);
            }
        }
    }

    public async Task UnsubscribeAsync(string frontEnd, string client, long round)
    {
        if (Members.GetValueOrDefault(client) is not { } member || member.FrontEnd == frontEnd)
        {
            _leftAt[client] = new Leave(frontEnd, round, time.GetUtcNow());

            // A member whose subscribe came in a later round subscribed again after this leave was sent (a leave sent
            // without waiting, after an eviction): it stays.
            if (Members.GetValueOrDefault(client) is { } left && left.Round <= round)
            {
                await RemoveAsync([left]);
            }
        }

        // Not a member: a renewal that listed the front end's members before this subscribe's reply had already
        // dropped it, and may have deactivated the grain, so this leave woke a new, empty activation.
        DeactivateIfEmpty();
    }

    public async Task<RenewResult> RenewAsync(ChannelRenewal renewal)
    {
        var now = time.GetUtcNow();
        _leases[renewal.FrontEnd] = now;
        var listed = renewal.Members.Select(m => m.Client).Concat(renewal.Pending).ToHashSet(StringComparer.Ordinal);

        // Neither listed nor pending: the socket is gone (an unsubscribe that never arrived). Unless its subscribe was
        // sent in this round or later (the list was taken before it, however late the renewal comes), or is still
        // being answered here.
        var gone = Members.Values
            .Where(m => m.FrontEnd == renewal.FrontEnd && m.Round < renewal.Round && !listed.Contains(m.Client)
                        && !_subscribing.ContainsKey(m.Client))
            .ToArray();
        // Listed but not a member: lost with an earlier activation, so it comes back. Unless it unsubscribed in this
        // round or a later one: then the front end took its list before the unsubscribe, however late the renewal comes,
        // and bringing it back would leave a ghost (and push a join) until its lease ran out.
        ForgetOldLeaves(now);
        var back = renewal.Members
            .Where(m => !Members.ContainsKey(m.Client)
                        && !(_leftAt.TryGetValue(m.Client, out var leave) && leave.FrontEnd == renewal.FrontEnd && leave.Round >= renewal.Round))
            .ToArray();
        foreach (var member in back)
        {
            Add(member);
        }

        if (back.Length > 0 && _options.Presence)
        {
            await SaveAsync(throwOnFailure: false);
            foreach (var member in back.Where(_ => _options.JoinLeave))
            {
                await EmitAsync(new PresenceEvent(_channel, EntryOf(member), Joined: true, ++_presenceSequence));
            }
        }

        // A renewal can reach a channel whose last member just left (the front end took its list before the
        // unsubscribe): it must not keep a memberless activation alive until idle collection. Unless subscribes are on
        // their way: an activation that goes turns away the calls queued for it.
        await RemoveAsync(gone, deactivateIfEmpty: false);
        if (renewal.Pending.Count == 0)
        {
            DeactivateIfEmpty();
        }

        return new RenewResult(new StreamPosition(_epoch, _top), _presenceSequence);
    }

    public Task<PresenceEvent[]?> PresenceSinceAsync(long sequence)
    {
        // Asked by a front end catching up just as its last subscriber here left: the question must not keep a
        // memberless activation (woken by it after the leave deactivated the last one) alive until idle collection.
        DeactivateIfEmpty();

        if (sequence >= _presenceSequence)
        {
            return Task.FromResult<PresenceEvent[]?>([]);
        }

        // This activation's events are all kept until the log wraps; what an earlier activation pushed is gone, and a
        // front end asking from before this activation's first event gets all of this one's (the first being any that
        // an earlier one could not push).
        var from = Math.Max(sequence, _presenceFloor);
        return Task.FromResult(_recentPresence.TryPeek(out var oldest) && oldest.Sequence <= from + 1
            ? _recentPresence.Where(e => e.Sequence > sequence).ToArray()
            : null);
    }

    public async Task<AppendResult> PublishAsync(ClientIdentity? caller, Immutable<byte[]> data, string? idempotencyKey)
    {
        access.DemandPublish(caller, _channel, data.Value.Length);
        var started = Stopwatch.GetTimestamp();
        AppendResult result;
        try
        {
            var request = new AppendRequest(_channel, caller?.User, data.Value, _options.HistorySize, _options.HistoryTtl, idempotencyKey);
            result = await EngineCall.Run(static s => s.log.AppendAsync(s.request, CancellationToken.None), (log, request));
        }
        catch
        {
            metrics.PublishFailed();
            throw;
        }

        metrics.Published(Stopwatch.GetElapsedTime(started));
        if (result.Duplicate)
        {
            return result; // pushed when it was first appended
        }

        if (result.Epoch != _epoch || result.Offset > _top)
        {
            (_epoch, _top) = (result.Epoch, result.Offset);
        }

        // Acknowledged once stored; the push follows (a push that fails is refilled from history by the front ends).
        Push(new MessageEvent(new Publication(_channel, result.Offset, result.Epoch, caller?.User, data.Value, result.Timestamp)));
        return result;
    }

    public Task<HistoryPage> HistoryAsync(ClientIdentity? caller, HistoryQuery query)
    {
        access.Demand(caller, _channel, "read the history of");
        return EngineCall.Run(() => log.ReadHistoryAsync(_channel, query, CancellationToken.None));
    }

    public Task<IReadOnlyList<PresenceEntry>> PresenceAsync(ClientIdentity? caller)
    {
        access.Demand(caller, _channel, "see who is in");
        if (!_options.Presence)
        {
            throw new RealtimeException(ErrorCodes.NotFound, $"presence is off for the namespace of '{_channel}'");
        }

        return Task.FromResult<IReadOnlyList<PresenceEntry>>(Members.Values.Select(EntryOf).ToArray());
    }

    private async Task<SubscribeResult> RecoverAsync(StreamPosition since)
    {
        var top = await EngineCall.Run(() => log.ReadHistoryAsync(_channel, new HistoryQuery(0), CancellationToken.None));
        var missed = top.Offset - since.Offset;
        if (since.Epoch != top.Epoch || missed < 0)
        {
            return new SubscribeResult(_channel, top.Epoch, top.Offset, Recovered: false, []);
        }

        if (missed == 0)
        {
            return new SubscribeResult(_channel, top.Epoch, top.Offset, Recovered: true, []);
        }

        var limit = (int)Math.Min(missed, Math.Max(_options.HistorySize, 1));
        var page = await EngineCall.Run(() => log.ReadHistoryAsync(_channel, new HistoryQuery(limit, After: since.Offset), CancellationToken.None))
            ;
        // Publishes landing between the two reads are past `top`: they reach the subscriber live, above the
        // reply's offset, so they are not counted here.
        var messages = page.Messages.Where(m => m.Offset <= top.Offset).ToList();
        var complete = page.Epoch == since.Epoch && messages.Count == missed;
        return new SubscribeResult(_channel, top.Epoch, top.Offset, complete, messages);
    }

    private bool Add(ChannelMember member)
    {
        var joined = !Members.ContainsKey(member.Client);
        Members[member.Client] = member;
        _leftAt.Remove(member.Client);
        if (joined)
        {
            MembersChanged();
        }

        return joined;
    }

    // Leaves are kept for a node timeout, three times as long as a front end waits for a renewal's answer: a renewal
    // taken before the leave and still on its way after that is not guarded against.
    private void ForgetOldLeaves(DateTimeOffset now)
    {
        if (_leftAt.Count == 0)
        {
            return;
        }

        foreach (var (client, leave) in _leftAt)
        {
            if (now - leave.At > silo.Value.NodeTimeout)
            {
                _leftAt.Remove(client);
            }
        }
    }

    private readonly record struct Leave(string FrontEnd, long Round, DateTimeOffset At);

    private async Task RemoveAsync(IReadOnlyCollection<ChannelMember> members, bool deactivateIfEmpty = true)
    {
        var removed = members.Where(m => Members.Remove(m.Client)).ToArray();
        if (removed.Length == 0)
        {
            return;
        }

        MembersChanged();
        if (_options.Presence)
        {
            // A failed write is tried again by the lease timer; the leave goes out now either way.
            await SaveAsync(throwOnFailure: false);
            foreach (var member in removed.Where(_ => _options.JoinLeave))
            {
                await EmitAsync(new PresenceEvent(_channel, EntryOf(member), Joined: false, ++_presenceSequence));
            }
        }

        if (deactivateIfEmpty)
        {
            DeactivateIfEmpty();
        }
    }

    // Nobody is in the channel and nothing waits to be written or pushed: the activation goes, rather than wait for
    // idle collection. Every path that can leave it memberless ends here, or a leave racing a renewal (which
    // deactivated the old activation and woke a new one) would leave a grain behind for minutes.
    private void DeactivateIfEmpty()
    {
        if (Members.Count == 0 && !_dirty && _unsent.Count == 0)
        {
            DeactivateOnIdle();
        }
    }

    private PresenceEntry EntryOf(ChannelMember member) => new(member.Client, member.User, member.Node);
}
