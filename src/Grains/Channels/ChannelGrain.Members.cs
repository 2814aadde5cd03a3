using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Orleans.Streams;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;

namespace Realtime.Grains.Channels;

internal sealed partial class ChannelGrain
{
    private long _version;     // bumped by every change to the members
    private long _saved;       // the version storage holds
    private Task? _saving;
    private bool _dirty;       // a write failed: the lease timer tries again

    // Each front end gets one stream; the array is rebuilt only when the set of front ends changes, so a
    // publish walks a ready array.
    private void MembersChanged()
    {
        _version++;
        var frontEnds = Members.Values.Select(m => m.FrontEnd).Distinct().ToArray();
        if (frontEnds.Length != _targets.Length || !frontEnds.All(f => _targets.Any(t => t.StreamId.Equals(RealtimeStreams.ForFrontEnd(f, _channel)))))
        {
            _targets = frontEnds.Select(f => _streams.GetStream<RealtimeEvent>(RealtimeStreams.ForFrontEnd(f, _channel))).ToArray();
        }

        if (Members.Count > 0)
        {
            EnsureLeaseTimer();
        }
    }

    // Runs while there are members or unsent joins and leaves; the tick that finds neither deactivates the grain.
    private void EnsureLeaseTimer()
    {
        var period = silo.Value.HeartbeatInterval;
        _leaseTimer ??= this.RegisterGrainTimer(ExpireLeasesAsync, new GrainTimerCreationOptions(period, period) { Interleave = true });
    }

    // Joins and leaves that could not be pushed (the silo holding a stream queue died, say), tried again in order
    // at each lease check: unlike messages, the front ends cannot refill them from history.
    private readonly Queue<PresenceEvent> _unsent = new();
    private const int MaxUnsent = 10_000;

    // The newest joins and leaves, for front ends whose stream lost some (PresenceSinceAsync).
    private readonly Queue<PresenceEvent> _recentPresence = new();
    private const int RecentPresence = 256;

    private async Task EmitAsync(RealtimeEvent streamEvent)
    {
        if (streamEvent is PresenceEvent recent)
        {
            _recentPresence.Enqueue(recent);
            if (_recentPresence.Count > RecentPresence)
            {
                _recentPresence.Dequeue();
            }
        }

        if (streamEvent is PresenceEvent presence && _unsent.Count > 0)
        {
            Unsent(presence); // behind the ones still waiting, so they go out in order
            return;
        }

        if (!await TryEmitAsync(streamEvent) && streamEvent is PresenceEvent failed)
        {
            Unsent(failed);
        }
    }

    private void Unsent(PresenceEvent presence)
    {
        EnsureLeaseTimer();
        _unsent.Enqueue(presence);
        if (_unsent.Count > MaxUnsent)
        {
            _unsent.Dequeue();
        }

        _version++; // stored at the next lease check (or deactivation), with the members
    }

    private async Task RetryUnsentAsync()
    {
        var sent = false;
        while (_unsent.TryPeek(out var next) && await TryEmitAsync(next))
        {
            _unsent.Dequeue();
            sent = true;
        }

        if (sent)
        {
            _version++; // storage no longer needs them
        }
    }

    // What an earlier activation could not push goes out with its sequences, in order with this one's: a front end
    // that already had an event from that activation's repair list skips it, one that had not gets it live or from
    // this activation's. Already in storage: no write needed for them.
    private void ReloadUnsent(List<PresenceEvent>? stored)
    {
        var known = _recentPresence.Select(e => e.Sequence).ToHashSet();
        var reloaded = (stored ?? []).Where(e => !known.Contains(e.Sequence)).ToArray();
        if (reloaded.Length == 0)
        {
            return;
        }

        Refill(_recentPresence, reloaded, RecentPresence);
        Refill(_unsent, reloaded, MaxUnsent);
        _presenceFloor = Math.Min(_presenceFloor, reloaded.Min(e => e.Sequence) - 1);
        _presenceSequence = Math.Max(_presenceSequence, reloaded.Max(e => e.Sequence));
        EnsureLeaseTimer();

        static void Refill(Queue<PresenceEvent> queue, PresenceEvent[] more, int limit)
        {
            var all = queue.Concat(more).OrderBy(e => e.Sequence).ToArray();
            queue.Clear();
            foreach (var presence in all.Skip(Math.Max(0, all.Length - limit)))
            {
                queue.Enqueue(presence);
            }
        }
    }

    // Messages waiting for the pump, in the order their appends completed.
    private List<RealtimeEvent> _outbox = [];
    private Task _pumping = Task.CompletedTask;

    // A publish returns once its message is stored and leaves the push to one pump per activation: the sender does
    // not wait on the stream, and whatever queued up meanwhile goes out as one stream item (one queue write, one
    // delivery), in order.
    private void Push(MessageEvent message)
    {
        _outbox.Add(message);
        if (_pumping.IsCompleted)
        {
            _pumping = PumpAsync();
        }
    }

    private async Task PumpAsync()
    {
        await Task.Yield(); // after this turn, in the grain's context: publishes arriving meanwhile join the batch
        while (_outbox.Count > 0)
        {
            var batch = _outbox;
            _outbox = [];
            await TryEmitAsync(batch);
        }
    }

    private Task<bool> TryEmitAsync(RealtimeEvent streamEvent) => TryEmitAsync([streamEvent]);

    private async Task<bool> TryEmitAsync(List<RealtimeEvent> events)
    {
        var targets = _targets;
        try
        {
            if (targets.Length == 1)
            {
                await Emit(targets[0], events);
            }
            else if (targets.Length > 1)
            {
                await Task.WhenAll(targets.Select(t => Emit(t, events)));
            }
        }
        catch (Exception e)
        {
            // Live delivery is best effort: each front end refills messages it missed from history at its next
            // renewal; joins and leaves are kept and tried again.
            GrainsLog.PushFailed(logger, e, _channel);
            return false;
        }

        return true;

        static Task Emit(IAsyncStream<RealtimeEvent> target, List<RealtimeEvent> events) =>
            events.Count == 1 ? target.OnNextAsync(events[0]) : target.OnNextBatchAsync(events);
    }

    // Coalesces writes: callers that change the members while a write is in flight share the next write, and
    // each caller returns once storage holds a version with its change.
    private async Task SaveAsync(bool throwOnFailure)
    {
        var wanted = _version;
        try
        {
            while (_saved < wanted)
            {
                if (_saving is { } inFlight)
                {
                    await inFlight;
                    continue;
                }

                var version = _version;
                state.State = new ChannelMembers { Members = new Dictionary<string, ChannelMember>(Members), Unsent = _unsent.Count > 0 ? [.. _unsent] : null };
                _saving = state.WriteStateAsync();
                try
                {
                    await _saving;
                    _saved = Math.Max(_saved, version);
                    _dirty = false;
                }
                finally
                {
                    _saving = null;
                }
            }
        }
        catch (Exception e)
        {
            _dirty = true;
            GrainsLog.MembersNotSaved(logger, e, _channel);
            if (e is InconsistentStateException)
            {
                await TakeStoredStateAsync();
            }

            if (throwOnFailure)
            {
                throw new RealtimeException(Contracts.Wire.ErrorCodes.Unavailable, "presence storage is unavailable, try again");
            }
        }
    }

    // Another activation wrote since this one read: two can overlap while Orleans rebuilds the grain directory of a
    // silo that died. Take its ETag, so that the next write (at the next lease check) stores this activation's members
    // instead of failing from now on, and the joins and leaves it could not push.
    private async Task TakeStoredStateAsync()
    {
        try
        {
            await state.ReadStateAsync();
            ReloadUnsent(state.State.Unsent);
        }
        catch (Exception e)
        {
            GrainsLog.StoredMembersNotRead(logger, e, _channel);
        }
    }

    // A front end that stopped renewing is gone (killed, or cut off): its members leave, with leave pushed.
    // If it was only cut off, its next renewal brings them back. One that missed two renewals and whose node has
    // since started again under the same id is gone for good, and need not wait for the timeout.
    private async Task ExpireLeasesAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expired = _leases.Where(l => l.Value < now - silo.Value.NodeTimeout).Select(l => l.Key).ToHashSet();
        await ExpireAsync(expired);

        // The directory may sit on a silo that just died: never let that call hold up the timeouts above.
        var late = _leases.Where(l => l.Value < now - (2 * silo.Value.HeartbeatInterval)).Select(l => l.Key).ToArray();
        if (late.Length > 0)
        {
            try
            {
                var superseded = await GrainFactory.GetGrain<INodeDirectoryGrain>(0).SupersededAsync(late).WaitAsync(silo.Value.HeartbeatInterval * 4, cancellationToken);
                await ExpireAsync(superseded.ToHashSet());
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                GrainsLog.DirectoryUnreachable(logger, e, _channel);
            }
        }

        await RetryUnsentAsync();

        // A write that failed, or joins and leaves that became unsent or were sent since the last one.
        if (_options.Presence && _saved < _version)
        {
            await SaveAsync(throwOnFailure: false);
        }

        DeactivateIfEmpty();
    }

    private async Task ExpireAsync(HashSet<string> frontEnds)
    {
        foreach (var frontEnd in frontEnds)
        {
            _leases.Remove(frontEnd);
        }

        var members = Members.Values.Where(m => frontEnds.Contains(m.FrontEnd)).ToArray();
        if (members.Length > 0)
        {
            GrainsLog.LeaseExpired(logger, _channel, members.Length, string.Join(", ", frontEnds));
            await RemoveAsync(members);
        }
    }
}
