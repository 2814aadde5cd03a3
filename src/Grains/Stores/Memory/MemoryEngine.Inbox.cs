using System.Collections.Concurrent;
using Realtime.Contracts.Users;

namespace Realtime.Grains.Stores.Memory;

public sealed partial class MemoryEngine
{
    private readonly ConcurrentDictionary<string, Inbox> _inboxes = new(StringComparer.Ordinal);

    public Task<InboxAppendResult> AppendInboxAsync(InboxAppend request, CancellationToken cancellationToken)
    {
        var inbox = _inboxes.GetOrAdd(request.User, static _ => new Inbox());
        var now = time.GetUtcNow();
        InboxEntry entry;
        lock (inbox)
        {
            if (request.IdempotencyKey is { } key && inbox.Keys.TryGetValue(key, out var earlier))
            {
                return Task.FromResult(new InboxAppendResult(earlier.Entry, Duplicate: true));
            }

            var at = request.DeliverAt is { } deliverAt && deliverAt > now ? deliverAt : now;
            entry = new InboxEntry(Guid.CreateVersion7(at).ToString("N"), request.User, request.Data, at, Read: false);
            if (at > now)
            {
                inbox.Scheduled.Add(entry);
            }
            else
            {
                inbox.Visible.Add(entry);
                TrimInbox(inbox, now);
            }

            if (request.IdempotencyKey is { } newKey)
            {
                inbox.Keys[newKey] = (entry, now + retention.Value.IdempotencyTtl);
            }
        }

        return Task.FromResult(new InboxAppendResult(entry, Duplicate: false, Scheduled: entry.Timestamp > now));
    }

    public Task<InboxPage> ListInboxAsync(string user, bool unreadOnly, int limit, CancellationToken cancellationToken)
    {
        if (!_inboxes.TryGetValue(user, out var inbox))
        {
            return Task.FromResult(new InboxPage([], 0));
        }

        lock (inbox)
        {
            var items = Enumerable.Reverse(inbox.Visible).Where(e => !unreadOnly || !e.Read).Take(limit).ToArray();
            return Task.FromResult(new InboxPage(items, inbox.Visible.Count(e => !e.Read)));
        }
    }

    public Task<int> MarkReadAsync(string user, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (!_inboxes.TryGetValue(user, out var inbox))
        {
            return Task.FromResult(0);
        }

        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        lock (inbox)
        {
            for (var i = 0; i < inbox.Visible.Count; i++)
            {
                if (wanted.Contains(inbox.Visible[i].Id))
                {
                    inbox.Visible[i] = inbox.Visible[i] with { Read = true };
                }
            }

            return Task.FromResult(inbox.Visible.Count(e => !e.Read));
        }
    }

    public async Task<int> CountUnreadAsync(string user, CancellationToken cancellationToken) =>
        (await ListInboxAsync(user, unreadOnly: true, limit: 0, cancellationToken).ConfigureAwait(false)).Unread;

    public Task<DueNotifications> DeliverDueAsync(string user, CancellationToken cancellationToken)
    {
        if (!_inboxes.TryGetValue(user, out var inbox))
        {
            return Task.FromResult(new DueNotifications([], null));
        }

        var now = time.GetUtcNow();
        lock (inbox)
        {
            var due = inbox.Scheduled.Where(e => e.Timestamp <= now).OrderBy(e => e.Timestamp).ToArray();
            foreach (var entry in due)
            {
                inbox.Scheduled.Remove(entry);
                inbox.Visible.Add(entry);
            }

            TrimInbox(inbox, now);
            DateTimeOffset? next = inbox.Scheduled.Count == 0 ? null : inbox.Scheduled.Min(e => e.Timestamp);
            return Task.FromResult(new DueNotifications(due, next));
        }
    }

    private void TrimInboxes(DateTimeOffset now)
    {
        foreach (var inbox in _inboxes.Values)
        {
            lock (inbox)
            {
                TrimInbox(inbox, now);
                foreach (var (key, (_, expires)) in inbox.Keys)
                {
                    if (expires <= now)
                    {
                        inbox.Keys.Remove(key);
                    }
                }
            }
        }
    }

    private void TrimInbox(Inbox inbox, DateTimeOffset now)
    {
        var options = retention.Value;
        var excess = inbox.Visible.Count - options.InboxMaxItems;
        var expired = inbox.Visible.TakeWhile(e => e.Timestamp + options.InboxTtl <= now).Count();
        var drop = Math.Max(excess, expired);
        if (drop > 0)
        {
            inbox.Visible.RemoveRange(0, drop);
        }
    }

    private sealed class Inbox
    {
        public List<InboxEntry> Visible { get; } = [];   // oldest first
        public List<InboxEntry> Scheduled { get; } = [];
        public Dictionary<string, (InboxEntry Entry, DateTimeOffset Expires)> Keys { get; } = new(StringComparer.Ordinal);
    }
}
