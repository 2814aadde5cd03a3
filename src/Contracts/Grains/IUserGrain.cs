using Realtime.Contracts.Users;

namespace Realtime.Contracts.Grains;

/// <summary>One user in the cluster: the inbox, scheduled notifications and direct messages. Pushes go
/// out on the user's stream, which every front end reads, so each device on any node receives them.</summary>
[Alias("realtime.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Stores a notification (pushed to every device on every node when due) and returns its id.</summary>
    [Alias("notify")]
    Task<string> NotifyAsync(Immutable<byte[]> data, string? idempotencyKey, DateTimeOffset? deliverAt);

    /// <summary>An ephemeral push to every device of the user on every node; not stored.</summary>
    [Alias("send")]
    Task SendAsync(string? from, Immutable<byte[]> data);

    [Alias("notifications")]
    Task<InboxPage> NotificationsAsync(bool unreadOnly, int limit);

    /// <summary>Marks notifications read and returns the unread count after.</summary>
    [Alias("read")]
    Task<int> ReadAsync(string[] ids);

    /// <summary>Closes every socket of the user on every node.</summary>
    [Alias("disconnect")]
    Task DisconnectAsync(string reason);
}
