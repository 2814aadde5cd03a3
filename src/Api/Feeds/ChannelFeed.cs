using Microsoft.Extensions.Logging;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Feeds;

/// <summary>
/// One channel on this front end: its local subscriptions, and the channel's messages in offset order. Each
/// message is serialised once and the same bytes are queued to every local subscriber. Live delivery over the
/// stream is best effort: an offset that comes early waits while the missing ones are read from history, and a
/// renewal that finds the channel ahead refills the rest, so a subscriber never sees a silent gap. The read from
/// history runs beside the stream: the stream goes on delivering other channels' messages meanwhile.
/// </summary>
internal sealed class ChannelFeed(string channel, ChannelFeeds owner)
{
    private readonly Lock _gate = new();                    // delivery state; never held across an await
    private IChannelSubscriber[] _subscribers = [];        // copy on write: the fan-out walks it without a lock
    private readonly Lock _presenceGate = new();
    private readonly SortedList<long, Publication> _early = []; // arrived ahead of a gap, by offset
    private Task? _refill;                                  // the read from history in progress, if any
    private string? _epoch;
    private long _delivered;
    private long _startedAt;                                // where delivery began in this epoch: nothing at or below it was handed on
    private long _presenceSeen;                             // the newest join or leave shown (by the channel's sequence)

    /// <summary>The most messages held back behind a gap; past it the subscribers are evicted rather than the node
    /// filled.</summary>
    private const int MaxEarly = 10_000;

    public string Channel { get; } = channel;

    public IChannelSubscriber[] Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>Where delivery stands (for tests and renewals).</summary>
    public (string? Epoch, long Delivered) Position
    {
        get
        {
            lock (_gate)
            {
                return (_epoch, _delivered);
            }
        }
    }

    /// <summary>The newest join or leave this feed has shown.</summary>
    public long PresenceSeen => Volatile.Read(ref _presenceSeen);

    public void Add(IChannelSubscriber subscription) => _subscribers = [.. _subscribers, subscription];

    public void Remove(IChannelSubscriber subscription) => _subscribers = _subscribers.Where(s => s != subscription).ToArray();

    /// <summary>
    /// A subscribe reply: the first one sets where delivery starts. Returns the offset above which this feed hands
    /// the new subscription its messages. It is above the reply's <paramref name="offset"/> when the subscription was
    /// added before the feed started and another socket's later reply started it further on: the messages between
    /// were never handed to anyone here, so the subscription must take them from history.
    /// </summary>
    public Task<long> StartAtAsync(string epoch, long offset, long presenceSequence = 0)
    {
        var from = offset;
        var firstReply = false;
        lock (_gate)
        {
            if (_epoch is null)
            {
                firstReply = true;
                (_epoch, _delivered, _startedAt) = (epoch, offset, offset);

                // Messages that came before this reply were held: now it is known where they start.
                var first = _early.Values.ToArray();
                _early.Clear();
                foreach (var publication in first)
                {
                    Accept(publication);
                }
            }
            else if (epoch == _epoch && offset < _startedAt)
            {
                from = _startedAt;
            }
        }

        // Joins and leaves start after the first reply's sequence. A later reply does not move that start: its
        // subscription has its own floor, and the earlier subscribers still get what was on its way (or not yet
        // pushed, like a leave an earlier activation of the grain left in storage).
        if (firstReply)
        {
            lock (_presenceGate)
            {
                _presenceSeen = Math.Max(_presenceSeen, presenceSequence);
            }
        }

        return Task.FromResult(from);
    }

    /// <summary>A message from the stream: delivered at once if it is the next offset, held while a gap before it is
    /// read from history, dropped if already delivered.</summary>
    public Task OnMessageAsync(Publication publication)
    {
        lock (_gate)
        {
            if (_epoch is null)
            {
                // Before the first subscribe reply nothing says where delivery starts: taking this message as the
                // start would skip whatever the stream lost before it. Held until StartAtAsync.
                if (_early.Count < MaxEarly)
                {
                    _early[publication.Offset] = publication;
                }

                return Task.CompletedTask;
            }

            Accept(publication);
            return Task.CompletedTask;
        }
    }

    private void Accept(Publication publication)
    {
        if (publication.Epoch != _epoch)
        {
            FeedsLog.EpochChanged(owner.Logger, Channel, _epoch!, publication.Epoch);

            // A new history: follow it from this message on.
            (_epoch, _delivered, _startedAt) = (publication.Epoch, publication.Offset - 1, publication.Offset - 1);
            _early.Clear();
        }

        if (publication.Offset <= _delivered)
        {
            return; // already delivered (a refill covered it, or the stream repeated it)
        }

        if (publication.Offset == _delivered + 1 && _refill is null)
        {
            Deliver(publication);
            DeliverEarly();
            return;
        }

        _early[publication.Offset] = publication;
        if (_early.Count > MaxEarly)
        {
            FeedsLog.GapNotFilled(owner.Logger, Channel, _delivered, publication.Offset);
            EvictAll("messages may have been missed; subscribe again with since to recover");
            _delivered = _early.Keys[^1];
            _early.Clear();
            return;
        }

        _refill ??= RefillAsync(publication.Epoch, target: null);
    }
    public void OnPresence(PresenceEntry entry, bool joined, long sequence)
    {
        // A join or leave comes live or from a renewal's repair, maybe both: each is shown once, in order.
        lock (_presenceGate)
        {
            if (sequence <= _presenceSeen)
            {
                return;
            }

            _presenceSeen = sequence;
        }

        var frame = new PushFrame(joined ? ServerFrames.Join(Channel, entry) : ServerFrames.Leave(Channel, entry));
        foreach (var subscriber in Subscribers)
        {
            if (subscriber.Client != entry.Client)
            {
                subscriber.Push(sequence, frame);
            }
        }
    }

    /// <summary>The channel's presence events were lost beyond repair (another activation pushed them): carry on from
    /// <paramref name="sequence"/>.</summary>
    public void SkipPresenceTo(long sequence)
    {
        lock (_presenceGate)
        {
            _presenceSeen = Math.Max(_presenceSeen, sequence);
        }
    }

    /// <summary>The channel stands at <paramref name="position"/> (a renewal said so): deliver whatever the stream
    /// has not brought by now.</summary>
    public Task CatchUpAsync(StreamPosition position)
    {
        lock (_gate)
        {
            if (_epoch is null || position.Epoch != _epoch || position.Offset <= _delivered)
            {
                return Task.CompletedTask;
            }

            return _refill ??= RefillAsync(_epoch, position.Offset);
        }
    }

    // Reads from history what lies between the delivered offset and the next message held back (or `target`, for a
    // catch-up), delivers it in order with the held-back messages, and goes on while a gap remains. Only a contiguous
    // run is delivered: if history no longer holds the missing offsets, every subscriber is evicted rather than shown
    // a jump. If history cannot be read, held-back messages evict too (they cannot wait forever); a catch-up alone
    // simply tries again at the next renewal.
    private async Task RefillAsync(string epoch, long? target)
    {
        await Task.Yield(); // the stream's delivery call goes on; this runs beside it
        try
        {
            await RefillLoopAsync(epoch, target).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Never leave a finished refill in place: every later message of the channel would wait behind it.
            FeedsLog.RefillCrashed(owner.Logger, e, Channel);
            lock (_gate)
            {
                _refill = null;
            }
        }
    }

    private async Task RefillLoopAsync(string epoch, long? target)
    {
        var failures = 0;
        while (true)
        {
            long after, upTo;
            lock (_gate)
            {
                if (_epoch != epoch)
                {
                    // A new history began meanwhile: what waits now belongs to it, and gets a refill of its own.
                    _refill = _early.Count > 0 && _epoch is not null ? RefillAsync(_epoch, target: null) : null;
                    return;
                }

                DeliverEarly();
                upTo = _early.Count > 0 ? _early.Keys[0] - 1 : target ?? _delivered;
                if (upTo <= _delivered)
                {
                    _refill = null;
                    return;
                }

                after = _delivered;
                target = null;
            }

            FeedsLog.Refilling(owner.Logger, Channel, after, upTo);

            HistoryPage? page = null;
            Exception? failure = null;
            try
            {
                var limit = (int)Math.Min(upTo - after, Math.Max(owner.HistorySizeOf(Channel), 1));
                page = await owner.Grains.GetGrain<IChannelGrain>(Channel).HistoryAsync(null, new HistoryQuery(limit, After: after)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failure = e;
            }

            lock (_gate)
            {
                if (_epoch != epoch || _delivered != after)
                {
                    continue; // moved on meanwhile: look again
                }

                if (page is not null)
                {
                    foreach (var publication in page.Messages)
                    {
                        if (publication.Epoch == _epoch && publication.Offset == _delivered + 1 && publication.Offset <= upTo)
                        {
                            Deliver(publication);
                        }
                    }

                    if (_delivered < upTo)
                    {
                        FeedsLog.GapNotFilled(owner.Logger, Channel, _delivered, upTo);
                        EvictAll("messages were lost from history; subscribe again with since to learn what is missing");
                        _delivered = upTo;
                    }
                    else
                    {
                        FeedsLog.CaughtUp(owner.Logger, Channel, (int)(_delivered - after), upTo);
                    }

                    continue;
                }

                if (_early.Count == 0 || ++failures > RefillAttempts)
                {
                    // A catch-up alone tries again at the next renewal; messages held back cannot wait forever.
                    FeedsLog.GapRefillFailed(owner.Logger, failure!, Channel, _delivered, upTo);
                    if (_early.Count > 0)
                    {
                        EvictAll("messages may have been missed; subscribe again with since to recover");
                        _delivered = _early.Keys[^1];
                        _early.Clear();
                    }

                    _refill = null;
                    return;
                }
            }

            // History cannot be read (the store is down, say): the held-back messages wait for it, in order.
            FeedsLog.RefillRetrying(owner.Logger, failure!, Channel, after, upTo, failures);
            await Task.Delay(RefillBackoff(failures)).ConfigureAwait(false);
        }
    }

    // Held-back messages wait through about half a minute of failed reads from history (0.25, 0.5, 1, 2, 4 s, then
    // 5 s apart), so a store that restarts costs a delay, not a resubscription.
    private const int RefillAttempts = 9;

    private static TimeSpan RefillBackoff(int failures) => TimeSpan.FromMilliseconds(Math.Min(5000, 250 * (1 << Math.Min(failures - 1, 5))));

    // Messages held back that are now next in line.
    private void DeliverEarly()
    {
        while (_early.Count > 0 && _early.Keys[0] <= _delivered + 1)
        {
            var next = _early.Values[0];
            _early.RemoveAt(0);
            if (next.Offset == _delivered + 1)
            {
                Deliver(next);
            }
        }
    }

    // Never a silent gap: subscribers that may have missed messages are told, and their subscribe with since
    // then answers exactly, with the messages or with recovered:false.
    private void EvictAll(string reason)
    {
        foreach (var subscriber in Subscribers)
        {
            subscriber.Evict(reason);
            owner.Evicted(this, subscriber);
        }
    }

    private void Deliver(Publication publication)
    {
        _delivered = publication.Offset;
        var subscribers = Subscribers;
        if (subscribers.Length == 0)
        {
            return;
        }

        var frame = new PushFrame(ServerFrames.Message(publication));
        foreach (var subscriber in subscribers)
        {
            subscriber.Deliver(publication.Offset, frame);
        }

        owner.Metrics.Delivered(subscribers.Length);
    }
}
