using Microsoft.Extensions.Options;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Users;
using Realtime.Contracts.Wire;
using Realtime.Grains.Channels;
using Realtime.Silo.Diagnostics;
using Realtime.Silo.Engines;
using Realtime.Silo.Runtime;

namespace Realtime.Grains.Users;

/// <summary>
/// One user on this node: the sockets of every device the user has open here, and the user's inbox
/// and direct messages. Pushes travel on the user's stream, so a device on any node receives them;
/// each push is serialised once per node.
/// </summary>
internal sealed class UserGrain(
    IRealtimeEngine engine,
    ChannelAccess access,
    IOptions<LimitsOptions> limits,
    RealtimeMetrics metrics) : Grain, IUserGrain
{
    private readonly List<IUserSession> _sessions = [];
    private string _user = "";

    protected override bool CanDeactivateOnIdle => _sessions.Count == 0;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _user = GrainKey;
        SubscribeToStream(StreamKey.ForUser(_user), OnStreamEventAsync);
        return Task.CompletedTask;
    }

    public Task<bool> AttachAsync(IUserSession session)
    {
        if (_sessions.Count >= limits.Value.MaxConnectionsPerUser)
        {
            DeactivateIfUnused();
            return Task.FromResult(false);
        }

        _sessions.Add(session);
        return Task.FromResult(true);
    }

    public Task DetachAsync(IUserSession session)
    {
        _sessions.Remove(session);
        DeactivateIfUnused();
        return Task.CompletedTask;
    }

    public async Task<string> NotifyAsync(byte[] data, string? idempotencyKey, DateTimeOffset? deliverAt)
    {
        access.DemandSize(data.Length);
        var entry = await EngineCall.Run(() => engine.AppendInboxAsync(new InboxAppend(_user, data, idempotencyKey, deliverAt), CancellationToken.None))
            .ConfigureAwait(false);
        metrics.NotificationStored();
        return entry.Id;
    }

    public Task SendAsync(string? from, byte[] data)
    {
        access.DemandSize(data.Length);
        return EngineCall.Run(async () =>
        {
            await engine.PublishAsync(StreamKey.ForUser(_user), new DirectEvent(_user, from, data, DateTimeOffset.UtcNow)).ConfigureAwait(false);
            return true;
        });
    }

    public Task<InboxPage> NotificationsAsync(bool unreadOnly, int limit) =>
        EngineCall.Run(() => engine.ListInboxAsync(_user, unreadOnly, limit, CancellationToken.None));

    public Task<int> ReadAsync(IReadOnlyCollection<string> ids) =>
        EngineCall.Run(() => engine.MarkReadAsync(_user, ids, CancellationToken.None));

    public Task DisconnectAsync(string reason) => EngineCall.Run(async () =>
    {
        await engine.PublishAsync(StreamKey.ForUser(_user), new DisconnectEvent(_user, reason)).ConfigureAwait(false);
        return true;
    });

    private Task OnStreamEventAsync(StreamEvent streamEvent)
    {
        if (_sessions.Count == 0)
        {
            return Task.CompletedTask;
        }

        switch (streamEvent)
        {
            case NotificationEvent notification:
                PushToAll(ServerFrames.Notification(notification.Entry));
                break;
            case DirectEvent direct:
                PushToAll(ServerFrames.Direct(direct.From, direct.Data, direct.Timestamp));
                break;
            case DisconnectEvent disconnect:
                foreach (var session in _sessions.ToArray())
                {
                    session.Close(CloseCodes.DisconnectedByServer, disconnect.Reason);
                }

                break;
        }

        return Task.CompletedTask;
    }

    private void PushToAll(byte[] frame)
    {
        foreach (var session in _sessions)
        {
            session.Push(frame);
        }
    }

    private void DeactivateIfUnused()
    {
        if (_sessions.Count == 0)
        {
            DeactivateOnIdle();
        }
    }
}
