using Microsoft.Extensions.Logging;
using Realtime.Contracts.Grains;
using Realtime.Grains.Stores;

namespace Realtime.Grains.Cluster;

/// <summary>Trims the store on a reminder. Key 0 only: one activation in the cluster, so the job runs once
/// per tick however many silos there are, with no leader election of our own.</summary>
internal sealed class RetentionGrain(IRealtimeStore store, ILogger<RetentionGrain> logger) : Grain, IRetentionGrain, IRemindable
{
    private const string Reminder = "retention";
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(5);

    public async Task StartAsync()
    {
        if (await this.GetReminder(Reminder) is null)
        {
            await this.RegisterOrUpdateReminder(Reminder, Period, Period);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        try
        {
            await store.TrimAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            GrainsLog.RetentionFailed(logger, e);
        }
    }
}
