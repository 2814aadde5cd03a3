using System.Globalization;
using Realtime.Grains.Diagnostics;

namespace Realtime.Silo.Tests.Diagnostics;

[Collection(ProcessHeapCollection.Name)] // it reads the process's collections: no other test may allocate meanwhile
public sealed class RealtimeMetricsTests
{
    private const int Retained = 64 * 1024 * 1024;

    [Fact]
    public void The_live_set_gauge_counts_what_survived_the_last_full_collection()
    {
        using var metrics = new RealtimeMetrics();
        var kept = new byte[Retained];
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var withKept = LiveBytes(metrics);
        for (var i = 0; i < 1000; i++)
        {
            GC.KeepAlive(new byte[16 * 1024]); // garbage that young collections take, not a full one
        }

        Assert.Equal(withKept, LiveBytes(metrics));
        GC.KeepAlive(kept);
        kept = null;

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var withoutKept = LiveBytes(metrics);

        Assert.True(withKept >= Retained, $"{withKept:N0} bytes live while {Retained:N0} were held");
        Assert.True(withKept - withoutKept >= Retained * 0.9, $"live set {withKept:N0} → {withoutKept:N0} bytes after the array died");
    }

    private static long LiveBytes(RealtimeMetrics metrics) =>
        long.Parse(metrics.ToPrometheusText().Split('\n').Single(l => l.StartsWith("dotnet_gc_live_bytes_after_gen2 ", StringComparison.Ordinal)).Split(' ')[1],
            CultureInfo.InvariantCulture);
}
