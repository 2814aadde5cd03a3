namespace Realtime.Contracts.Wire;

/// <summary>The commands a client may send over the socket (SPEC §6).</summary>
public enum CommandType
{
    Connect,
    Subscribe,
    Unsubscribe,
    Publish,
    History,
    Presence,
    Send,
    Notifications,
    Read,
    Ping,
}
