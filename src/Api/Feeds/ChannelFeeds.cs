using System.Collections.Concurrent;
using Realtime.Contracts.Grains;
using Realtime.Grains.Channels;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Feeds;

/// <summary>The channels this front end has subscribers in, one <see cref="ChannelFeed"/> each.</summary>
internal sealed class ChannelFeeds(IGrainFactory grains, FrontEndIdentity frontEnd, ChannelAccess access, RealtimeMetrics metrics, ILogger<ChannelFeeds> logger)
{
    private readonly ConcurrentDictionary<string, ChannelFeed> _feeds = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public IGrainFactory Grains => grains;
    public RealtimeMetrics Metrics => metrics;
    public ILogger Logger => logger;

    public int Count => _feeds.Count;

    public ICollection<ChannelFeed> All => _feeds.Values;

    public ChannelFeed? Find(string channel) => _feeds.GetValueOrDefault(channel);

    public int HistorySizeOf(string channel) => access.OptionsFor(channel).HistorySize;

    /// <summary>Adds a subscription before the grain is asked, so no push for it can slip by unseen.</summary>
    public ChannelFeed Add(string channel, IChannelSubscriber subscription)
    {
        lock (_gate)
        {
            var feed = _feeds.GetOrAdd(channel, static (c, owner) => new ChannelFeed(c, owner), this);
            feed.Add(subscription);
            return feed;
        }
    }

    public void Remove(string channel, IChannelSubscriber subscription)
    {
        lock (_gate)
        {
            if (_feeds.TryGetValue(channel, out var feed))
            {
                feed.Remove(subscription);
                if (feed.Subscribers.Length == 0)
                {
                    _feeds.TryRemove(channel, out _);
                }
            }
        }
    }

    /// <summary>A feed evicted a subscriber: it leaves the channel here and in the grain.</summary>
    public void Evicted(ChannelFeed feed, IChannelSubscriber subscription)
    {
        Remove(feed.Channel, subscription);
        _ = LeaveQuietlyAsync(feed.Channel, subscription.Client);
    }

    // Counts renewals (ChannelRenewal): a renewal takes the next round before it lists a feed's subscribers, and a
    // subscribe carries the round current once its subscription is in the feed. So a grain can tell a member that a
    // renewal's list could not have held from one that is gone, however late that renewal arrives.
    private long _round;

    /// <summary>The member a subscribe sends: call it once the subscription is in its feed.</summary>
    public ChannelMember MemberOf(IChannelSubscriber subscription) =>
        MemberOf(subscription, Interlocked.Read(ref _round)); // a full fence: not read before the feed holds the subscription

    private ChannelMember MemberOf(IChannelSubscriber subscription, long round) =>
        new(frontEnd.Id, subscription.Client, subscription.User, frontEnd.Node, round);

    /// <summary>Renews this front end's members with the channel grain, and refills what the stream has not brought
    /// by a moment later (a message in flight needs no refill).</summary>
    public async Task RenewAsync(ChannelFeed feed, TimeSpan grace, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var round = Interlocked.Increment(ref _round);
            var subscribers = feed.Subscribers;
            var listed = subscribers.Where(s => s.IsConfirmed && !s.IsClosed).ToArray();
            var pending = subscribers.Where(s => !s.IsConfirmed && !s.IsClosed).Select(s => s.Client).ToArray();
            if (Find(feed.Channel) != feed || (listed.Length == 0 && pending.Length > 0))
            {
                // A feed replaced since this round began (its last subscriber left and another came): its empty list
                // would drop the newcomer, whose subscribe may predate this round. Or only subscribes on their way:
                // nothing to renew or catch up yet, and a renewal could reach the grain before them, wake it, find it
                // empty and let it go, turning them away.
                return;
            }

            var grain = grains.GetGrain<IChannelGrain>(feed.Channel);
            var renewal = new ChannelRenewal(frontEnd.Id, round, listed.Select(s => MemberOf(s, round)).ToArray(), pending);
            var renewed = await grain.RenewAsync(renewal).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            LeaveAgainIfRaced(feed, subscribers, listed);
            var position = renewed.Position;
            var messagesBehind = feed.Position.Epoch == position.Epoch && feed.Position.Delivered < position.Offset;
            var presenceBehind = feed.PresenceSeen < renewed.PresenceSequence;
            if (!messagesBehind && !presenceBehind)
            {
                return;
            }

            // Give what is in flight a moment to arrive, then take the rest from the grain. Unless the channel's last
            // subscriber here has left meanwhile: nobody would get the refill, and its call would wake the grain again
            // after the leave deactivated it, with no member to ever deactivate it before idle collection.
            await Task.Delay(grace, cancellationToken).ConfigureAwait(false);
            if (Find(feed.Channel) != feed)
            {
                return;
            }

            if (messagesBehind)
            {
                await feed.CatchUpAsync(position).ConfigureAwait(false);
            }

            if (presenceBehind && feed.PresenceSeen < renewed.PresenceSequence)
            {
                // Joins and leaves cannot be read from history: the grain keeps the recent ones for this.
                var missed = await grain.PresenceSinceAsync(feed.PresenceSeen).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                foreach (var presence in missed ?? [])
                {
                    feed.OnPresence(presence.Entry, presence.Joined, presence.Sequence);
                }

                // Lost beyond repair (null), or all there was: either way nothing up to the renewal's sequence is
                // still to come (a new activation's sequence starts above the events it got from an earlier one).
                feed.SkipPresenceTo(renewed.PresenceSequence);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            FeedsLog.RenewFailed(logger, e, feed.Channel);
        }
    }

    // A subscriber listed in a renewal that left while the renewal was on its way: if its unsubscribe overtook the
    // renewal, the grain (or a new activation, the leave having deactivated the old one) took it back as a member
    // lost with an earlier activation. Leave again, so the grain holds no ghost until this front end's lease ends.
    private void LeaveAgainIfRaced(ChannelFeed feed, IChannelSubscriber[] subscribers, IChannelSubscriber[] listed)
    {
        var current = Find(feed.Channel);
        if (current == feed && ReferenceEquals(feed.Subscribers, subscribers))
        {
            return; // nobody came or went (the subscriber list is replaced on every change)
        }

        var here = (current?.Subscribers ?? []).Select(s => s.Client).ToHashSet(StringComparer.Ordinal);
        foreach (var subscriber in listed.Where(s => !here.Contains(s.Client)))
        {
            _ = LeaveQuietlyAsync(feed.Channel, subscriber.Client);
        }
    }

    /// <summary>Tells the channel grain a socket left: call it once the subscription is out of its feed, so that the
    /// leave carries a round no earlier renewal's list can be from.</summary>
    public Task LeaveAsync(string channel, string client) =>
        grains.GetGrain<IChannelGrain>(channel).UnsubscribeAsync(frontEnd.Id, client, Interlocked.Read(ref _round));

    private async Task LeaveQuietlyAsync(string channel, string client)
    {
        try
        {
            await LeaveAsync(channel, client).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            FeedsLog.LeaveFailed(logger, e, channel, client);
        }
    }
}
