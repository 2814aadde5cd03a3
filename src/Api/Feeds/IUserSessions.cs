using Realtime.Api.Sessions;
using Realtime.Contracts.Streams;

namespace Realtime.Api.Feeds;

/// <summary>This node's sockets by user, and the user events pushed to them.</summary>
internal interface IUserSessions
{
    int Count { get; }

    /// <summary>False when the user already has the most sockets allowed on this node.</summary>
    bool TryAttach(string user, Session session);

    void Detach(string user, Session session);

    void OnEvent(RealtimeEvent userEvent);
}
