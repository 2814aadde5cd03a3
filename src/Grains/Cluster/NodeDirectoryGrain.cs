using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;

namespace Realtime.Grains.Cluster;

/// <summary>The front ends that reported in, held in memory: each reports every heartbeat, so a new activation
/// (after its silo died) is whole again within one heartbeat.</summary>
internal sealed class NodeDirectoryGrain(TimeProvider time) : Grain, INodeDirectoryGrain
{
    private readonly Dictionary<string, NodeStatus> _nodes = [];

    public Task ReportAsync(NodeStatus status)
    {
        _nodes[status.Node] = status with { LastSeen = time.GetUtcNow() };
        return Task.CompletedTask;
    }

    [ReadOnly]
    public Task<NodeStatus[]> ListAsync(TimeSpan maxAge)
    {
        var oldest = time.GetUtcNow() - maxAge;
        foreach (var stale in _nodes.Values.Where(n => n.LastSeen < oldest).ToArray())
        {
            _nodes.Remove(stale.Node);
        }

        return Task.FromResult(_nodes.Values.OrderBy(n => n.Node, StringComparer.Ordinal).ToArray());
    }

    [ReadOnly]
    public Task<string[]> SupersededAsync(string[] instances) =>
        Task.FromResult(instances.Where(i => _nodes.Values.Any(n => n.Instance != i && i.StartsWith(n.Node + ".", StringComparison.Ordinal)
            && i.Length > n.Node.Length + 1 && !i[(n.Node.Length + 1)..].Contains('.', StringComparison.Ordinal))).ToArray());
}
