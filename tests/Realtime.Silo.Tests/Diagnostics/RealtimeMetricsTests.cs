using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Realtime.Grains.Diagnostics;

namespace Realtime.Silo.Tests.Diagnostics;

[Collection(ProcessHeapCollection.Name)] // it reads the process's collections: no other test may allocate meanwhile
public sealed class RealtimeMetricsTests
{
    private const int Retained = 64 * 1024 * 1024;

    [Fact]
    public void The_live_set_gauge_counts_what_survived_the_last_full_collection()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        _ = new RealtimeMetrics(meters);
        var kept = new byte[Retained];
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var withKept = LiveBytes(meters);
        for (var i = 0; i < 1000; i++)
        {
            GC.KeepAlive(new byte[16 * 1024]); // garbage that young collections take, not a full one
        }

        Assert.Equal(withKept, LiveBytes(meters));
        GC.KeepAlive(kept);
        kept = null;

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var withoutKept = LiveBytes(meters);

        Assert.True(withKept >= Retained, $"{withKept:N0} bytes live while {Retained:N0} were held");
        Assert.True(withKept - withoutKept >= Retained * 0.9, $"live set {withKept:N0} → {withoutKept:N0} bytes after the array died");
    }

    // Reads the gauge as an exporter would: through the node's meter, on a collection.
    private static long LiveBytes(IMeterFactory meters)
    {
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "realtime.gc.live_set")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value ?? throw new InvalidOperationException("the node's meter has no realtime.gc.live_set gauge");
    }
}
