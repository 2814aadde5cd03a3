namespace Realtime.Api.Tests.Cluster;

/// <summary>Cluster tests start real processes; they run one at a time so two cores are enough.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}
