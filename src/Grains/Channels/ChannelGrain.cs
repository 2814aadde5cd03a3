using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Wire;
using Realtime.Silo;
using Realtime.Silo.Diagnostics;
using Realtime.Silo.Engines;
using Realtime.Silo.Runtime;

namespace Realtime.Grains.Channels;

/// <summary>
/// One channel on this node. Other nodes may hold their own activation: order and history come from
/// the engine, and this grain is a cache of the channel's position plus the local fan-out. Each
/// message is serialised once here and the same bytes are queued to every local subscriber.
/// </summary>
internal sealed class ChannelGrain(
    IRealtimeEngine engine,
    ChannelAccess access,
    IOptions<RealtimeOptions> realtime,
    RealtimeMetrics metrics,
    ILogger<ChannelGrain> logger) : Grain, IChannelGrain
{
    private static readonly TimeSpan PresenceRetry = TimeSpan.FromSeconds(2);

    private readonly List<IChannelSubscriber> _subscribers = [];
    private readonly List<IChannelSubscriber> _staleEntries = []; // gone, but their presence entry could not be removed yet
    private IDisposable? _retryTimer;
    private string _channel = "";
    private NamespaceOptions _options = new();
    private string _epoch = "";
    private long _delivered;

    protected override bool CanDeactivateOnIdle => _subscribers.Count == 0 && _staleEntries.Count == 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _channel = GrainKey;
        _options = access.OptionsFor(_channel);

        // Listen first, then read the position: an event racing the read is either at or below the
        // position (dropped as already seen) or above it (delivered), so nothing falls in between.
        SubscribeToStream(StreamKey.ForChannel(_channel), OnStreamEventAsync);
        var page = await EngineCall.Run(() => engine.ReadHistoryAsync(_channel, new HistoryQuery(0), cancellationToken)).ConfigureAwait(false);
        (_epoch, _delivered) = (page.Epoch, page.Offset);
    }

    public async Task<SubscribeResult> SubscribeAsync(IChannelSubscriber subscriber, StreamPosition? since)
    {
        access.Demand(subscriber.Identity, _channel, "subscribe to");
        var result = since is { } position ? await RecoverAsync(position).ConfigureAwait(false)
            : new SubscribeResult(_channel, _epoch, _delivered, Recovered: true, []);

        if (_options.Presence)
        {
            // The same socket back before a failed removal was retried: the retry must not remove its new entry.
            _staleEntries.RemoveAll(stale => stale.Client == subscriber.Client);
            var entry = new PresenceEntry(subscriber.Client, subscriber.Identity.User, realtime.Value.NodeId);
            await EngineCall.Run(() => engine.AddPresenceAsync(_channel, entry, CancellationToken.None)).ConfigureAwait(false);
            if (_options.JoinLeave)
            {
                await EngineCall.Run(() => engine.PublishAsync(StreamKey.ForChannel(_channel), new PresenceEvent(_channel, entry, Joined: true)))
                    .ConfigureAwait(false);
            }
        }

        _subscribers.Add(subscriber);
        return result;
    }

    public async Task UnsubscribeAsync(IChannelSubscriber subscriber)
    {
        // An evicted subscriber is no longer listed, but its presence entry still has to go.
        _subscribers.Remove(subscriber);
        if (_options.Presence && !await TryRemovePresenceAsync(subscriber).ConfigureAwait(false))
        {
            // The engine is unreachable (PostgreSQL restarting, say). The node is alive and keeps its heartbeat, so
            // nothing else would ever remove the entry: retry until the engine answers.
            _staleEntries.Add(subscriber);
            _retryTimer ??= RegisterTimer(RetryStaleEntriesAsync, PresenceRetry, PresenceRetry);
        }

        if (CanDeactivateOnIdle)
        {
            DeactivateOnIdle();
        }
    }

    // False when the entry could not be removed; a leave that cannot be published is only logged.
    private async Task<bool> TryRemovePresenceAsync(IChannelSubscriber subscriber)
    {
        bool removed;
        try
        {
            removed = await engine.RemovePresenceAsync(_channel, subscriber.Client, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            GrainsLog.PresenceCleanupFailed(logger, e, _channel);
            return false;
        }

        if (removed && _options.JoinLeave)
        {
            try
            {
                var entry = new PresenceEntry(subscriber.Client, subscriber.Identity.User, realtime.Value.NodeId);
                await engine.PublishAsync(StreamKey.ForChannel(_channel), new PresenceEvent(_channel, entry, Joined: false)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                GrainsLog.PresenceCleanupFailed(logger, e, _channel);
            }
        }

        return true;
    }

    private async Task RetryStaleEntriesAsync()
    {
        foreach (var stale in _staleEntries.ToArray())
        {
            if (await TryRemovePresenceAsync(stale).ConfigureAwait(false))
            {
                _staleEntries.Remove(stale);
            }
        }

        if (_staleEntries.Count == 0)
        {
            _retryTimer?.Dispose();
            _retryTimer = null;
            if (CanDeactivateOnIdle)
            {
                DeactivateOnIdle();
            }
        }
    }

    public Task<AppendResult> PublishAsync(ClientIdentity? caller, byte[] data, string? idempotencyKey)
    {
        access.DemandPublish(caller, _channel, data.Length);
        var started = Stopwatch.GetTimestamp();
        var request = new AppendRequest(_channel, caller?.User, data, _options.HistorySize, _options.HistoryTtl, idempotencyKey);
        var append = EngineCall.Run(static s => s.engine.AppendAsync(s.request, CancellationToken.None), (engine, request));
        if (!append.IsCompletedSuccessfully)
        {
            return CompletePublishAsync(append, started);
        }

        // The hot path (the memory engine appends at once): the engine's own task is the call's result.
        metrics.Published(Stopwatch.GetElapsedTime(started));
        return append;
    }

    private async Task<AppendResult> CompletePublishAsync(Task<AppendResult> append, long started)
    {
        try
        {
            var result = await append.ConfigureAwait(false);
            metrics.Published(Stopwatch.GetElapsedTime(started));
            return result;
        }
        catch
        {
            metrics.PublishFailed();
            throw;
        }
    }

    public Task<HistoryPage> HistoryAsync(ClientIdentity? caller, HistoryQuery query)
    {
        access.Demand(caller, _channel, "read the history of");
        return EngineCall.Run(() => engine.ReadHistoryAsync(_channel, query, CancellationToken.None));
    }

    public Task<IReadOnlyList<PresenceEntry>> PresenceAsync(ClientIdentity? caller)
    {
        access.Demand(caller, _channel, "see who is in");
        return _options.Presence
            ? EngineCall.Run(() => engine.ListPresenceAsync(_channel, CancellationToken.None))
            : throw new RealtimeException(ErrorCodes.NotFound, $"presence is off for the namespace of '{_channel}'");
    }

    public Task<int> SubscriberCountAsync() => Task.FromResult(_subscribers.Count);

    private async Task<SubscribeResult> RecoverAsync(StreamPosition since)
    {
        var top = await EngineCall.Run(() => engine.ReadHistoryAsync(_channel, new HistoryQuery(0), CancellationToken.None)).ConfigureAwait(false);
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
        var page = await EngineCall.Run(() => engine.ReadHistoryAsync(_channel, new HistoryQuery(limit, After: since.Offset), CancellationToken.None))
            .ConfigureAwait(false);
        // Publishes landing between the two reads are past `top`: they reach the subscriber live, above
        // the reply's offset. Judged against page.Offset instead, a recovery racing a publish said
        // recovered:false and its floor dropped those messages (found by the node-kill load test).
        var messages = page.Messages.Where(m => m.Offset <= top.Offset).ToList();
        var complete = page.Epoch == since.Epoch && messages.Count == missed;
        return new SubscribeResult(_channel, top.Epoch, top.Offset, complete, messages);
    }

    private async Task OnStreamEventAsync(StreamEvent streamEvent)
    {
        switch (streamEvent)
        {
            case PublicationEvent { Publication: var publication }:
                await OnPublicationAsync(publication).ConfigureAwait(false);
                break;
            case ResyncEvent:
                // The engine may have missed events while its connection was down: catch up from history.
                await RefillGapAsync(long.MaxValue).ConfigureAwait(false);
                break;
            case PresenceEvent presence when _options.JoinLeave:
                var frame = presence.Joined ? ServerFrames.Join(_channel, presence.Entry) : ServerFrames.Leave(_channel, presence.Entry);
                foreach (var subscriber in _subscribers)
                {
                    if (subscriber.Client != presence.Entry.Client)
                    {
                        subscriber.Push(frame);
                    }
                }

                break;
        }
    }

    private async Task OnPublicationAsync(Publication publication)
    {
        if (publication.Epoch != _epoch)
        {
            // The engine started a new history for this channel: follow it from this message on.
            GrainsLog.EpochChanged(logger, _channel, _epoch, publication.Epoch);
            (_epoch, _delivered) = (publication.Epoch, publication.Offset - 1);
        }

        if (publication.Offset <= _delivered)
        {
            return; // already delivered (the stream repeated it, or the gap refill below covered it)
        }

        if (publication.Offset > _delivered + 1)
        {
            await RefillGapAsync(publication.Offset).ConfigureAwait(false);
        }

        Deliver(publication);
    }

    // The stream skipped offsets (a lost notification, a reconnect): fetch them from history so
    // subscribers still see every message in order. Only a contiguous run is delivered; if history
    // no longer holds all of it, subscribers are evicted rather than shown a jump. upTo is exclusive;
    // long.MaxValue means "up to the channel's newest offset".
    private async Task RefillGapAsync(long upTo)
    {
        HistoryPage page;
        try
        {
            var limit = (int)Math.Min(upTo == long.MaxValue ? int.MaxValue : upTo - _delivered - 1, Math.Max(_options.HistorySize, 1));
            page = await engine.ReadHistoryAsync(_channel, new HistoryQuery(limit, After: _delivered), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            GrainsLog.GapRefillFailed(logger, e, _channel, _delivered, upTo);
            EvictAll("messages may have been missed; subscribe again with since to recover");
            return;
        }

        var target = upTo == long.MaxValue ? page.Offset : upTo - 1;
        foreach (var publication in page.Messages)
        {
            if (publication.Offset == _delivered + 1 && publication.Offset <= target)
            {
                Deliver(publication);
            }
        }

        if (_delivered < target)
        {
            GrainsLog.GapNotFilled(logger, _channel, _delivered, target + 1);
            EvictAll("messages were lost from history; subscribe again with since to learn what is missing");
            _delivered = target;
        }
    }

    // Never a silent gap: subscribers that may have missed messages are told, and their subscribe
    // with since then answers exactly, with the messages or with recovered:false.
    private void EvictAll(string reason)
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber.Evict(reason);
        }

        _subscribers.Clear();
        DeactivateOnIdle();
    }

    private void Deliver(Publication publication)
    {
        _delivered = publication.Offset;
        if (_subscribers.Count == 0)
        {
            return;
        }

        var frame = ServerFrames.Message(publication);
        foreach (var subscriber in _subscribers)
        {
            subscriber.Deliver(publication.Offset, frame);
        }

        metrics.Delivered(_subscribers.Count);
    }
}
