using Realtime.Contracts.Channels;
using Realtime.Contracts.Users;

namespace Realtime.Grains.Stores;

/// <summary>
/// A channel's log: offsets, history and idempotency keys. The offset is assigned by the store's atomic
/// append (1, 2, 3, … per epoch), never by a counter in grain memory, so even a brief duplicate activation
/// during a membership change cannot hand out one offset twice.
/// </summary>
public interface IChannelLog
{
    Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken);

    Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken);
}

/// <summary>A user's inbox: notifications, optionally scheduled, with read flags.</summary>
public interface IUserInbox
{
    Task<InboxAppendResult> AppendInboxAsync(InboxAppend request, CancellationToken cancellationToken);

    Task<InboxPage> ListInboxAsync(string user, bool unreadOnly, int limit, CancellationToken cancellationToken);

    /// <summary>Marks the given notifications read; returns the unread count after.</summary>
    Task<int> MarkReadAsync(string user, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    Task<int> CountUnreadAsync(string user, CancellationToken cancellationToken);

    /// <summary>Makes the user's scheduled notifications whose time has come visible, and says when the
    /// next one is due. An entry is made visible once, however many callers race.</summary>
    Task<DueNotifications> DeliverDueAsync(string user, CancellationToken cancellationToken);
}

/// <summary>
/// The append-mostly data the grains own, with one implementation per engine (memory, postgres); both
/// pass the same specification suite. Methods throw <see cref="EngineUnavailableException"/> when the
/// store cannot be reached, and never acknowledge what they did not store.
/// </summary>
public interface IRealtimeStore : IChannelLog, IUserInbox
{
    string Name { get; }

    /// <summary>Connects, and creates or migrates what the store needs.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>True while the store can be reached; drives <c>/health/ready</c>.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Drops history past each channel's size and age, old inbox entries and old idempotency keys.</summary>
    Task TrimAsync(CancellationToken cancellationToken);
}
