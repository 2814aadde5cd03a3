using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Silo.Diagnostics;
using Realtime.Silo.Engines;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Jobs;

/// <summary>
/// Every node writes its heartbeat each round. Nodes with <c>RunJobs</c> also compete for the
/// engine's leadership; the leader alone delivers scheduled notifications, trims retention and
/// removes dead nodes' presence (pushing a leave for each entry), so each job runs once.
/// </summary>
public sealed class ClusterJobs(
    IRealtimeEngine engine,
    GrainRuntime runtime,
    RealtimeMetrics metrics,
    IOptions<RealtimeOptions> realtime,
    IOptions<SiloOptions> silo,
    ILogger<ClusterJobs> logger) : BackgroundService
{
    /// <summary>
    /// Before the node takes sockets: presence entries left under this node's id by an earlier
    /// process (a restart that kept its NodeId) are removed and a leave is pushed for each.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RunAsync("stale-presence", async () =>
        {
            var stale = await engine.RemoveNodeAsync(realtime.Value.NodeId, cancellationToken).ConfigureAwait(false);
            await PublishLeavesAsync(stale, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        SiloLog.NodeStarted(logger, realtime.Value.NodeId, engine.Name, silo.Value.RunJobs);
        var options = silo.Value;
        var tick = options.SchedulerInterval < options.HeartbeatInterval ? options.SchedulerInterval : options.HeartbeatInterval;
        using var timer = new PeriodicTimer(tick);
        long? lastRound = null;
        do
        {
            // Scheduled notifications every tick; heartbeat and housekeeping every heartbeat interval.
            var now = Environment.TickCount64;
            if (lastRound is not { } last || now - last >= (long)options.HeartbeatInterval.TotalMilliseconds - 1)
            {
                lastRound = now;
                await RunRoundAsync(stoppingToken).ConfigureAwait(false);
            }
            else if (options.RunJobs && await RunAsync("leadership", () => engine.TryLeadAsync(stoppingToken)).ConfigureAwait(false))
            {
                await DeliverDueAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One round of the heartbeat and, on the leader, every job. Public so tests can drive it.</summary>
    public async Task RunRoundAsync(CancellationToken cancellationToken)
    {
        await RunAsync("heartbeat", () => engine.HeartbeatAsync(
            new NodeStatus(realtime.Value.NodeId, DateTimeOffset.UtcNow, (int)metrics.Connections, runtime.CountActivations<IChannelGrain>()),
            cancellationToken)).ConfigureAwait(false);

        if (!silo.Value.RunJobs || !await RunAsync("leadership", () => engine.TryLeadAsync(cancellationToken)).ConfigureAwait(false))
        {
            return;
        }

        await DeliverDueAsync(cancellationToken).ConfigureAwait(false);
        await RunAsync("dead-nodes", () => ExpireDeadNodesAsync(cancellationToken)).ConfigureAwait(false);
        await RunAsync("retention", () => engine.TrimAsync(cancellationToken)).ConfigureAwait(false);
    }

    private Task DeliverDueAsync(CancellationToken cancellationToken) => RunAsync("scheduled-notifications", async () =>
    {
        var count = await engine.DeliverDueNotificationsAsync(cancellationToken).ConfigureAwait(false);
        if (count > 0)
        {
            SiloLog.ScheduledDelivered(logger, count);
        }
    });

    private async Task ExpireDeadNodesAsync(CancellationToken cancellationToken)
    {
        var removed = await engine.ExpireDeadNodesAsync(silo.Value.NodeTimeout, cancellationToken).ConfigureAwait(false);
        await PublishLeavesAsync(removed, cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishLeavesAsync(IReadOnlyList<(string Channel, PresenceEntry Entry)> removed, CancellationToken cancellationToken)
    {
        foreach (var (channel, entry) in removed)
        {
            await engine.PublishAsync(StreamKey.ForChannel(channel), new PresenceEvent(channel, entry, Joined: false), cancellationToken)
                .ConfigureAwait(false);
        }

        if (removed.Count > 0)
        {
            SiloLog.DeadPresenceRemoved(logger, removed.Count);
        }
    }

    private async Task RunAsync(string job, Func<Task> work) => await RunAsync(job, async () =>
    {
        await work().ConfigureAwait(false);
        return true;
    }).ConfigureAwait(false);

    private async Task<bool> RunAsync(string job, Func<Task<bool>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The engine may be down; the next round tries again.
            SiloLog.JobFailed(logger, e, job);
            return false;
        }
    }
}
