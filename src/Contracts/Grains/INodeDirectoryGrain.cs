using Realtime.Contracts.Presence;

namespace Realtime.Contracts.Grains;

/// <summary>The front ends of the cluster and what they serve, for <c>GET /api/info</c>. Each front end
/// reports itself every heartbeat; one activation (key 0) holds the list in memory, and a new activation
/// has it back within a heartbeat.</summary>
[Alias("realtime.INodeDirectoryGrain")]
public interface INodeDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("report")]
    Task ReportAsync(NodeStatus status);

    /// <summary>Front ends seen within <paramref name="maxAge"/>.</summary>
    [Alias("list")]
    Task<NodeStatus[]> ListAsync(TimeSpan maxAge);

    /// <summary>Those of <paramref name="instances"/> whose node has reported since as another instance: a node
    /// restarted under the same id, so the old process is gone for good.</summary>
    [Alias("superseded")]
    Task<string[]> SupersededAsync(string[] instances);
}
