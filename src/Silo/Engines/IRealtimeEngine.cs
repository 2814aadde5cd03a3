using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Users;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Engines;

/// <summary>
/// Everything that must hold across nodes: channel order and history, streams, inboxes, presence,
/// the node registry and idempotency. One implementation per engine; both pass the same
/// specification test suite. Methods throw <see cref="EngineUnavailableException"/> when the
/// engine cannot be reached, and never acknowledge what they did not store.
/// </summary>
public interface IRealtimeEngine : IStreamProvider
{
    string Name { get; }

    /// <summary>Connects, creates or migrates what the engine needs, and starts listening.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>True while the engine can be reached; drives <c>/health/ready</c>.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    // Channels. The offset is assigned atomically (1, 2, 3, … per epoch); the engine publishes a
    // PublicationEvent on the channel's stream once the message is stored.
    Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken);

    Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken);

    // Inbox. A due notification is published as a NotificationEvent on the user's stream once stored.
    Task<InboxEntry> AppendInboxAsync(InboxAppend request, CancellationToken cancellationToken);

    Task<InboxPage> ListInboxAsync(string user, bool unreadOnly, int limit, CancellationToken cancellationToken);

    /// <summary>Marks the given notifications read; returns the unread count after.</summary>
    Task<int> MarkReadAsync(string user, IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    Task<int> CountUnreadAsync(string user, CancellationToken cancellationToken);

    /// <summary>Makes scheduled notifications whose time has come visible and publishes them; returns how many.</summary>
    Task<int> DeliverDueNotificationsAsync(CancellationToken cancellationToken);

    // Presence.
    Task AddPresenceAsync(string channel, PresenceEntry entry, CancellationToken cancellationToken);

    /// <summary>Removes a client from a channel; false when it was not there.</summary>
    Task<bool> RemovePresenceAsync(string channel, string client, CancellationToken cancellationToken);

    Task<IReadOnlyList<PresenceEntry>> ListPresenceAsync(string channel, CancellationToken cancellationToken);

    // Node registry.
    Task HeartbeatAsync(NodeStatus status, CancellationToken cancellationToken);

    Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken);

    /// <summary>Forgets nodes silent for longer than <paramref name="timeout"/>, removes their presence
    /// entries and returns those entries so a leave can be pushed for each.</summary>
    Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> ExpireDeadNodesAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Forgets one node now (used by a node starting under the id of an earlier process):
    /// removes its presence entries and returns them so a leave can be pushed for each.</summary>
    Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> RemoveNodeAsync(string node, CancellationToken cancellationToken);

    /// <summary>True while this node holds the cluster-jobs leadership, so each job runs once in the cluster.</summary>
    Task<bool> TryLeadAsync(CancellationToken cancellationToken);

    /// <summary>Drops history past each channel's size and age, old inbox entries and old idempotency keys.</summary>
    Task TrimAsync(CancellationToken cancellationToken);
}
