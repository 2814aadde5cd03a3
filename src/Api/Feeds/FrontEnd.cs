using Microsoft.Extensions.Options;
using Orleans.Streams;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Grains;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Feeds;

/// <summary>
/// This process as a front end of the cluster. It reads its own streams (channel events the grains address to
/// it) and the shared user streams, one subscription each, and hands every event to the channel feed or the
/// user's sockets. Every heartbeat it checks those subscriptions and subscribes again to any the runtime dropped
/// (a failed delivery drops a subscription, and ResumeAsync does not bring it back), reports itself to the node
/// directory, and renews its members with each channel grain, refilling from history what the stream missed.
/// A gateway change triggers the same round at once.
/// </summary>
internal sealed class FrontEnd(
    IClusterClient cluster,
    FrontEndIdentity identity,
    ChannelFeeds feeds,
    IUserSessions users,
    RealtimeMetrics metrics,
    IOptions<SiloOptions> timing,
    ILogger<FrontEnd> logger) : BackgroundService
{
    private readonly StreamId[] _streams =
    [
        .. Enumerable.Range(0, RealtimeStreams.Partitions).Select(p => RealtimeStreams.ForFrontEnd(identity.Id, p)),
        .. Enumerable.Range(0, RealtimeStreams.Partitions).Select(RealtimeStreams.ForUsers),
    ];

    private StreamReader[]? _readers;

    private readonly StreamSubscriptionHandle<RealtimeEvent>?[] _handles = new StreamSubscriptionHandle<RealtimeEvent>?[RealtimeStreams.Partitions * 2];
    private readonly SemaphoreSlim _wake = new(0);

    // A call to a silo that just died waits for Orleans' response timeout: never let one hold up a round. Renewals
    // get a third of the node timeout, so a live front end always renews in time.
    private TimeSpan CallTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(2).Ticks, timing.Value.HeartbeatInterval.Ticks * 4));

    private TimeSpan RenewTimeout => TimeSpan.FromTicks(Math.Max(timing.Value.HeartbeatInterval.Ticks, timing.Value.NodeTimeout.Ticks / 3));
    private volatile bool _subscribed;

    /// <summary>True once every stream subscription was in place at the last check.</summary>
    public bool IsSubscribed => _subscribed;

    /// <summary>Starts a round now (the gateways changed, say).</summary>
    public void Nudge() => _wake.Release();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before the server takes sockets, so the first subscriber's pushes have somewhere to go.
        await CheckSubscriptionsAsync().ConfigureAwait(false);
        if (_subscribed)
        {
            FeedsLog.Subscribed(logger, identity.Id, _streams.Length);
            await ReportAsync().ConfigureAwait(false);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = timing.Value.HeartbeatInterval;
        var grace = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(1).Ticks, interval.Ticks / 2));
        Task checking = Task.CompletedTask, reporting = Task.CompletedTask;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // The subscription check and the report run beside the renewals, one of each at a time: a slow silo
            // must not delay a renewal past the node timeout, or this live front end's members would leave.
            checking = checking.IsCompleted ? CheckSubscriptionsAsync() : checking;
            reporting = reporting.IsCompleted ? ReportAsync() : reporting;
            await Parallel.ForEachAsync(feeds.All, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = stoppingToken },
                (feed, ct) => new ValueTask(feeds.RenewAsync(feed, grace, RenewTimeout, ct))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // The pulling agent hands over everything queued for this front end at once (Realtime:Orleans:StreamBatchSize):
    // each event is handed on in order, and the sockets' send loops find several frames waiting.
    private async Task OnNextAsync(IList<SequentialItem<RealtimeEvent>> items)
    {
        foreach (var item in items)
        {
            var handed = OnNext(item.Item);
            if (!handed.IsCompletedSuccessfully)
            {
                await handed.ConfigureAwait(false);
            }
        }
    }

    private Task OnNext(RealtimeEvent item)
    {
        switch (item)
        {
            case MessageEvent { Publication: var publication }:
                return feeds.Find(publication.Channel)?.OnMessageAsync(publication) ?? Task.CompletedTask;
            case PresenceEvent presence:
                feeds.Find(presence.Channel)?.OnPresence(presence.Entry, presence.Joined, presence.Sequence);
                return Task.CompletedTask;
            default:
                users.OnEvent(item);
                return Task.CompletedTask;
        }
    }

    // One observer per stream, so an error names its stream.
    private sealed class StreamReader(FrontEnd owner, StreamId stream) : IAsyncBatchObserver<RealtimeEvent>
    {
        public Task OnNextAsync(IList<SequentialItem<RealtimeEvent>> items) => owner.OnNextAsync(items);

        public Task OnErrorAsync(Exception ex) => owner.OnErrorAsync(ex, stream);
    }

    private Task OnErrorAsync(Exception ex, StreamId stream)
    {
        FeedsLog.StreamError(logger, ex, identity.Id, stream.ToString());
        Nudge();
        return Task.CompletedTask;
    }

    private async Task CheckSubscriptionsAsync()
    {
        try
        {
            var provider = cluster.GetStreamProvider(RealtimeStreams.Provider);
            for (var i = 0; i < _streams.Length; i++)
            {
                var stream = provider.GetStream<RealtimeEvent>(_streams[i]);
                var handles = await stream.GetAllSubscriptionHandles().WaitAsync(CallTimeout).ConfigureAwait(false);
                var mine = _handles[i] is { } known ? handles.FirstOrDefault(h => h.HandleId == known.HandleId) : null;
                foreach (var other in handles.Where(h => h != mine))
                {
                    await other.UnsubscribeAsync().WaitAsync(CallTimeout).ConfigureAwait(false); // never two: each event would come twice
                }

                if (mine is null)
                {
                    if (_handles[i] is not null)
                    {
                        FeedsLog.Resubscribed(logger, identity.Id, _streams[i].ToString());
                    }

                    _readers ??= _streams.Select(id => new StreamReader(this, id)).ToArray();
                    _handles[i] = await stream.SubscribeAsync(_readers[i]).WaitAsync(CallTimeout).ConfigureAwait(false);
                }
            }

            _subscribed = true;
        }
        catch (Exception e)
        {
            _subscribed = false;
            FeedsLog.CheckFailed(logger, e, identity.Id);
        }
    }

    private async Task ReportAsync()
    {
        try
        {
            var status = new NodeStatus(identity.Node, DateTimeOffset.UtcNow, (int)metrics.Connections, feeds.Count, identity.Id);
            await cluster.GetGrain<INodeDirectoryGrain>(0).ReportAsync(status).WaitAsync(CallTimeout).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            FeedsLog.ReportFailed(logger, e, identity.Id);
        }
    }
}
