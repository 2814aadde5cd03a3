namespace Realtime.Api.Tests.Infrastructure;

public static class ManagedHeap
{
    /// <summary>The test process's live managed bytes: what is left after a full, blocking collection.</summary>
    public static long LiveBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
