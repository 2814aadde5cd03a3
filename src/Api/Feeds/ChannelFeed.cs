using Microsoft.Extensions.Logging;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Feeds;

/// <summary>
/// One channel on this front end: its local subscriptions, and the channel's messages in offset order. Each
/// message is serialised once and the same bytes are queued to every local subscriber. Live delivery over the
/// stream is best effort: an offset that comes early is preceded by the missing ones read from history, and a
/// renewal that finds the channel ahead refills the rest, so a subscriber never sees a silent gap.
/// </summary>
internal sealed class ChannelFeed(string channel, ChannelFeeds owner)
{
    private readonly SemaphoreSlim _order = new(1, 1);      // one delivery or refill at a time
    private IChannelSubscriber[] _subscribers = [];        // copy on write: the fan-out walks it without a lock
    private readonly Lock _presenceGate = new();
    private string? _epoch;
    private long _delivered;
    private long _presenceSeen;                             // the newest join or leave shown (by the channel's sequence)

    public string Channel { get; } = channel;

    public IChannelSubscriber[] Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>Where delivery stands (for tests and renewals).</summary>
    public (string? Epoch, long Delivered) Position => (_epoch, _delivered);

    /// <summary>The newest join or leave this feed has shown.</summary>
    public long PresenceSeen => Volatile.Read(ref _presenceSeen);

    public void Add(IChannelSubscriber subscription) => _subscribers = [.. _subscribers, subscription];

    public void Remove(IChannelSubscriber subscription) => _subscribers = _subscribers.Where(s => s != subscription).ToArray();

    /// <summary>The first subscribe reply sets where delivery starts, unless a message came first.</summary>
    public async Task StartAtAsync(string epoch, long offset, long presenceSequence = 0)
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_epoch is null)
            {
                (_epoch, _delivered) = (epoch, offset);
            }

            lock (_presenceGate)
            {
                _presenceSeen = Math.Max(_presenceSeen, presenceSequence);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    public async Task OnMessageAsync(Publication publication)
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (publication.Epoch != _epoch)
            {
                if (_epoch is not null)
                {
                    FeedsLog.EpochChanged(owner.Logger, Channel, _epoch, publication.Epoch);
                }

                // A first message, or a new history: follow it from this message on.
                (_epoch, _delivered) = (publication.Epoch, publication.Offset - 1);
            }

            if (publication.Offset <= _delivered)
            {
                return; // already delivered (a refill covered it, or the stream repeated it)
            }

            if (publication.Offset > _delivered + 1 && !await RefillAsync(publication.Offset - 1, evictIfUnreadable: true).ConfigureAwait(false))
            {
                return;
            }

            Deliver(publication);
        }
        finally
        {
            _order.Release();
        }
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

        var frame = joined ? ServerFrames.Join(Channel, entry) : ServerFrames.Leave(Channel, entry);
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
    public async Task CatchUpAsync(StreamPosition position)
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_epoch is null || position.Epoch != _epoch || position.Offset <= _delivered)
            {
                return;
            }

            var from = _delivered;
            if (await RefillAsync(position.Offset, evictIfUnreadable: false).ConfigureAwait(false))
            {
                FeedsLog.CaughtUp(owner.Logger, Channel, (int)(_delivered - from), position.Offset);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    // Delivers the offsets after _delivered up to `target` from history. Only a contiguous run is delivered; if
    // history no longer holds all of it, every subscriber is evicted rather than shown a jump. If history cannot be
    // read, a message waiting behind the gap evicts too (it cannot wait forever); a catch-up simply tries again at
    // the next renewal.
    private async Task<bool> RefillAsync(long target, bool evictIfUnreadable)
    {
        HistoryPage page;
        try
        {
            var limit = (int)Math.Min(target - _delivered, Math.Max(owner.HistorySizeOf(Channel), 1));
            page = await owner.Grains.GetGrain<IChannelGrain>(Channel).HistoryAsync(null, new HistoryQuery(limit, After: _delivered)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            FeedsLog.GapRefillFailed(owner.Logger, e, Channel, _delivered, target);
            if (evictIfUnreadable)
            {
                EvictAll("messages may have been missed; subscribe again with since to recover");
            }

            return false;
        }

        foreach (var publication in page.Messages)
        {
            if (publication.Epoch == _epoch && publication.Offset == _delivered + 1 && publication.Offset <= target)
            {
                Deliver(publication);
            }
        }

        if (_delivered < target)
        {
            FeedsLog.GapNotFilled(owner.Logger, Channel, _delivered, target);
            EvictAll("messages were lost from history; subscribe again with since to learn what is missing");
            _delivered = target;
            return false;
        }

        return true;
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

        var frame = ServerFrames.Message(publication);
        foreach (var subscriber in subscribers)
        {
            subscriber.Deliver(publication.Offset, frame);
        }

        owner.Metrics.Delivered(subscribers.Length);
    }
}
