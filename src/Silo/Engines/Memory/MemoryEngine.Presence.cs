using System.Collections.Concurrent;
using Realtime.Contracts.Presence;

namespace Realtime.Silo.Engines.Memory;

public sealed partial class MemoryEngine
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, PresenceEntry>> _presence = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NodeStatus> _nodes = new(StringComparer.Ordinal);

    public Task AddPresenceAsync(string channel, PresenceEntry entry, CancellationToken cancellationToken)
    {
        _presence.GetOrAdd(channel, static _ => new(StringComparer.Ordinal))[entry.Client] = entry;
        return Task.CompletedTask;
    }

    public Task<bool> RemovePresenceAsync(string channel, string client, CancellationToken cancellationToken)
    {
        var removed = false;
        if (_presence.TryGetValue(channel, out var clients))
        {
            removed = clients.TryRemove(client, out _);
            if (clients.IsEmpty)
            {
                _presence.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, PresenceEntry>>(channel, clients));
            }
        }

        return Task.FromResult(removed);
    }

    public Task<IReadOnlyList<PresenceEntry>> ListPresenceAsync(string channel, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PresenceEntry>>(
            _presence.TryGetValue(channel, out var clients) ? clients.Values.OrderBy(e => e.Client, StringComparer.Ordinal).ToArray() : []);

    public Task HeartbeatAsync(NodeStatus status, CancellationToken cancellationToken)
    {
        _nodes[status.Node] = status with { LastSeen = time.GetUtcNow() };
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<NodeStatus>>(_nodes.Values.OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());

    public Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> ExpireDeadNodesAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() - timeout;
        return Task.FromResult(RemoveNodes(_nodes.Values.Where(n => n.LastSeen < deadline).Select(n => n.Node).ToHashSet(StringComparer.Ordinal)));
    }

    public Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> RemoveNodeAsync(string node, CancellationToken cancellationToken) =>
        Task.FromResult(RemoveNodes(new HashSet<string>(StringComparer.Ordinal) { node }));

    private IReadOnlyList<(string Channel, PresenceEntry Entry)> RemoveNodes(HashSet<string> dead)
    {
        var removed = new List<(string, PresenceEntry)>();
        foreach (var node in dead)
        {
            _nodes.TryRemove(node, out _);
        }

        foreach (var (channel, clients) in _presence)
        {
            foreach (var entry in clients.Values)
            {
                if (dead.Contains(entry.Node) && clients.TryRemove(entry.Client, out _))
                {
                    removed.Add((channel, entry));
                }
            }
        }

        return removed;
    }
}
