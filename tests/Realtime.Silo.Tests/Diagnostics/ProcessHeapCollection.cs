namespace Realtime.Silo.Tests.Diagnostics;

/// <summary>Tests that read the process's garbage collections run alone, so no other test allocates meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessHeapCollection
{
    public const string Name = "process heap";
}
