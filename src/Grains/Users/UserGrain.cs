using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Users;
using Realtime.Grains.Channels;
using Realtime.Grains.Diagnostics;
using Realtime.Grains.Stores;

namespace Realtime.Grains.Users;

/// <summary>
/// One user in the cluster: the inbox and direct messages. Pushes go on the user's stream, which every front
/// end reads, so a device on any node receives them; the front end serialises each push once. Scheduled
/// notifications wait in the inbox, hidden; an Orleans reminder (which outlives the activation and its silo)
/// and, for the last minute, a grain timer make them visible and push them.
/// </summary>
[Reentrant]
internal sealed class UserGrain(
    IUserInbox inbox,
    ChannelAccess access,
    RealtimeMetrics metrics,
    TimeProvider time,
    ILogger<UserGrain> logger) : Grain, IUserGrain, IRemindable
{
    private const string DueReminder = "scheduled-notifications";
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1); // Orleans' shortest

    private IAsyncStream<RealtimeEvent> _stream = null!;
    private string _user = "";
    private IGrainTimer? _dueTimer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _user = this.GetPrimaryKeyString();
        _stream = this.GetStreamProvider(RealtimeStreams.Provider).GetStream<RealtimeEvent>(RealtimeStreams.ForUser(_user));
        metrics.GrainActivated();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.GrainDeactivated();
        return Task.CompletedTask;
    }

    public async Task<string> NotifyAsync(Immutable<byte[]> data, string? idempotencyKey, DateTimeOffset? deliverAt)
    {
        access.DemandSize(data.Value.Length);
        var appended = await EngineCall.Run(() => inbox.AppendInboxAsync(new InboxAppend(_user, data.Value, idempotencyKey, deliverAt), CancellationToken.None))
            ;
        metrics.NotificationStored();
        if (appended.Scheduled)
        {
            await ScheduleAsync(appended.Entry.Timestamp);
        }
        else if (!appended.Duplicate)
        {
            await PushAsync(new NotificationEvent(appended.Entry), throwOnFailure: false);
        }

        return appended.Entry.Id;
    }

    public Task SendAsync(string? from, Immutable<byte[]> data)
    {
        access.DemandSize(data.Value.Length);
        return PushAsync(new DirectEvent(_user, from, data.Value, time.GetUtcNow()), throwOnFailure: true);
    }

    public Task<InboxPage> NotificationsAsync(bool unreadOnly, int limit) =>
        EngineCall.Run(() => inbox.ListInboxAsync(_user, unreadOnly, limit, CancellationToken.None));

    public Task<int> ReadAsync(string[] ids) => EngineCall.Run(() => inbox.MarkReadAsync(_user, ids, CancellationToken.None));

    public Task DisconnectAsync(string reason) => PushAsync(new DisconnectEvent(_user, reason), throwOnFailure: true);

    public Task ReceiveReminder(string reminderName, TickStatus status) => DeliverDueAsync();

    // The reminder is the safety net (it fires on some silo even if this one dies); the timer is what makes a
    // notification due in seconds arrive on time, since a reminder ticks at most once a minute.
    private async Task ScheduleAsync(DateTimeOffset due)
    {
        var wait = due - time.GetUtcNow();
        await this.RegisterOrUpdateReminder(DueReminder, Clamp(wait, TimeSpan.Zero, ReminderPeriod), ReminderPeriod);
        if (wait < ReminderPeriod)
        {
            _dueTimer?.Dispose();
            _dueTimer = this.RegisterGrainTimer(DeliverDueAsync,
                new GrainTimerCreationOptions(Clamp(wait, TimeSpan.Zero, ReminderPeriod), Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = true });
        }
    }

    private async Task DeliverDueAsync()
    {
        var due = await EngineCall.Run(() => inbox.DeliverDueAsync(_user, CancellationToken.None));
        foreach (var entry in due.Delivered)
        {
            await PushAsync(new NotificationEvent(entry), throwOnFailure: false);
        }

        if (due.Delivered.Count > 0)
        {
            GrainsLog.ScheduledDelivered(logger, _user, due.Delivered.Count);
        }

        _dueTimer?.Dispose();
        _dueTimer = null;
        if (due.Next is { } next)
        {
            await ScheduleAsync(next);
        }
        else if (await this.GetReminder(DueReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private async Task PushAsync(RealtimeEvent userEvent, bool throwOnFailure)
    {
        try
        {
            await _stream.OnNextAsync(userEvent);
        }
        catch (Exception e) when (!throwOnFailure)
        {
            // The notification is stored: the user finds it in the inbox.
            GrainsLog.UserPushFailed(logger, e, _user);
        }
        catch (Exception e)
        {
            GrainsLog.UserPushFailed(logger, e, _user);
            throw new RealtimeException(Contracts.Wire.ErrorCodes.Unavailable, "the message could not be delivered, try again");
        }
    }

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;
}
