using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Realtime.Bench.SoakDriver;

/// <summary>
/// Makes the node run a full, blocking collection, the way dotnet-gcdump does: an EventPipe session with
/// the runtime's GCHeapCollect keyword induces one. Between full collections the heap also holds dead
/// objects already promoted to generation 2 (history evicted from a ring, say), so only the bytes that
/// survive a full collection tell a leak from garbage the collector has not looked at yet.
/// </summary>
internal static class FullCollection
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>Starts the collection and returns once <paramref name="completed"/> says it has run, or after a timeout.</summary>
    public static async Task<bool> RunAsync(int pid, Func<Task<bool>> completed, TimeSpan timeout)
    {
        var client = new DiagnosticsClient(pid);
        var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword);
        using var session = await client.StartEventPipeSessionAsync([provider], requestRundown: false, circularBufferMB: 16, CancellationToken.None);
        var draining = session.EventStream.CopyToAsync(Stream.Null); // the runtime stalls a session nobody reads
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            while (!deadline.IsCancellationRequested)
            {
                if (await completed())
                {
                    return true;
                }

                await Task.Delay(100, CancellationToken.None);
            }

            return false;
        }
        finally
        {
            await session.StopAsync(CancellationToken.None);
            await draining.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
