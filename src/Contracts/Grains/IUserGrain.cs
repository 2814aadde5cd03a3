using Realtime.Contracts.Users;

namespace Realtime.Contracts.Grains;

/// <summary>One user on this node: every device's session, the inbox, direct messages. Keyed by user id.</summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Registers a socket. False when the user already has the most sockets allowed on this node.</summary>
    Task<bool> AttachAsync(IUserSession session);

    Task DetachAsync(IUserSession session);

    /// <summary>Stores a notification (pushed to every device on every node when due) and returns its id.</summary>
    [AlwaysInterleave]
    Task<string> NotifyAsync(byte[] data, string? idempotencyKey, DateTimeOffset? deliverAt);

    /// <summary>An ephemeral push to every device of the user on every node; not stored.</summary>
    [AlwaysInterleave]
    Task SendAsync(string? from, byte[] data);

    [AlwaysInterleave]
    Task<InboxPage> NotificationsAsync(bool unreadOnly, int limit);

    /// <summary>Marks notifications read and returns the unread count after.</summary>
    [AlwaysInterleave]
    Task<int> ReadAsync(IReadOnlyCollection<string> ids);

    /// <summary>Closes every socket of the user on every node.</summary>
    [AlwaysInterleave]
    Task DisconnectAsync(string reason);
}
