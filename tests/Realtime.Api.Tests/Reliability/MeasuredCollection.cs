namespace Realtime.Api.Tests.Reliability;

/// <summary>Tests that measure latency or the managed heap of the test process run alone, so no other test skews them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredCollection
{
    public const string Name = "measured";
}
