using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Realtime.Api.Sessions;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Wire;
using Realtime.Grains;

namespace Realtime.Api.Feeds;

/// <summary>
/// This node's sockets by user. Every front end reads every user event (the user streams are shared), so a
/// user needs no registration in the cluster; an event for a user with no socket here costs a lookup. An
/// event for a user with sockets here is serialised once and the same bytes go to each of them.
/// </summary>
internal sealed class UserSessions(IOptions<LimitsOptions> limits) : IUserSessions
{
    private readonly ConcurrentDictionary<string, Session[]> _users = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public int Count => _users.Count;

    /// <summary>False when the user already has the most sockets allowed on this node.</summary>
    public bool TryAttach(string user, Session session)
    {
        lock (_gate)
        {
            var sessions = _users.GetValueOrDefault(user) ?? [];
            if (sessions.Length >= limits.Value.MaxConnectionsPerUser)
            {
                return false;
            }

            _users[user] = [.. sessions, session];
            return true;
        }
    }

    public void Detach(string user, Session session)
    {
        lock (_gate)
        {
            if (_users.TryGetValue(user, out var sessions))
            {
                var left = sessions.Where(s => s != session).ToArray();
                if (left.Length == 0)
                {
                    _users.TryRemove(user, out _);
                }
                else
                {
                    _users[user] = left;
                }
            }
        }
    }

    public void OnEvent(RealtimeEvent userEvent)
    {
        switch (userEvent)
        {
            case NotificationEvent { Entry: var entry } when _users.TryGetValue(entry.User, out var sessions):
                PushToAll(sessions, new PushFrame(ServerFrames.Notification(entry)));
                break;
            case DirectEvent direct when _users.TryGetValue(direct.User, out var sessions):
                PushToAll(sessions, new PushFrame(ServerFrames.Direct(direct.From, direct.Data, direct.Timestamp)));
                break;
            case DisconnectEvent disconnect when _users.TryGetValue(disconnect.User, out var sessions):
                foreach (var session in sessions)
                {
                    session.RequestClose(CloseCodes.DisconnectedByServer, disconnect.Reason, dropQueue: false,
                        ServerFrames.Disconnect(CloseCodes.DisconnectedByServer, disconnect.Reason, reconnect: false));
                }

                break;
        }
    }

    private static void PushToAll(Session[] sessions, PushFrame frame)
    {
        foreach (var session in sessions)
        {
            session.Enqueue(frame);
        }
    }
}
