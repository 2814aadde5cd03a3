using System.Diagnostics.Metrics;

namespace Realtime.Grains.Diagnostics;

/// <summary>
/// The node's counters, as instruments of a <see cref="Meter"/> named "Realtime" that OpenTelemetry exports
/// (Prometheus text at <c>/metrics</c>, OTLP when configured). Hot paths only do an <see cref="Interlocked"/> add;
/// the observable instruments read the totals when a collection asks. The meter comes from the host's
/// <see cref="IMeterFactory"/>, so a host's exporter sees this node's meter and not another's in the same process.
/// </summary>
public sealed class RealtimeMetrics
{
    public const string MeterName = "Realtime";

    // Publish latency buckets, from half a millisecond (memory engine) to seconds (PostgreSQL under strain).
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly Histogram<double> _publishLatency;
    private long _connections, _subscriptions, _framesIn, _framesOut, _deliveries, _slowConsumerCloses;
    private long _rateLimited, _activations, _activationsTotal, _publishes, _publishFailures, _notifications;

    public RealtimeMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableUpDownCounter("realtime.connections", () => Volatile.Read(ref _connections), "{connection}", "Open WebSocket connections.");
        meter.CreateObservableUpDownCounter("realtime.subscriptions", () => Volatile.Read(ref _subscriptions), "{subscription}",
            "Channel subscriptions held by open connections.");
        meter.CreateObservableCounter("realtime.frames.in", () => Volatile.Read(ref _framesIn), "{frame}", "Frames received from clients.");
        meter.CreateObservableCounter("realtime.frames.out", () => Volatile.Read(ref _framesOut), "{frame}", "Frames sent to clients.");
        meter.CreateObservableCounter("realtime.deliveries", () => Volatile.Read(ref _deliveries), "{message}", "Channel messages queued to local subscribers.");
        meter.CreateObservableCounter("realtime.slow_consumer.closes", () => Volatile.Read(ref _slowConsumerCloses), "{connection}",
            "Connections closed with 4008 for not reading.");
        meter.CreateObservableCounter("realtime.rate_limited.commands", () => Volatile.Read(ref _rateLimited), "{command}",
            "Commands refused by the per-connection rate limit.");
        meter.CreateObservableUpDownCounter("realtime.grain.activations", () => Volatile.Read(ref _activations), "{activation}", "Grain activations on this node.");
        meter.CreateObservableCounter("realtime.grain.activated", () => Volatile.Read(ref _activationsTotal), "{activation}", "Grains activated since start.");
        meter.CreateObservableCounter("realtime.publishes", () => Volatile.Read(ref _publishes), "{message}", "Publishes acknowledged.");
        meter.CreateObservableCounter("realtime.publish.failures", () => Volatile.Read(ref _publishFailures), "{message}",
            "Publishes that failed (engine unavailable or error).");
        meter.CreateObservableCounter("realtime.notifications", () => Volatile.Read(ref _notifications), "{notification}", "Notifications stored.");
        _publishLatency = meter.CreateHistogram("realtime.publish.latency", "s", "Time from publish to acknowledgement, engine append included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

        // The heap as a soak run judges it, beside the runtime's own dotnet.* instruments.
        meter.CreateObservableGauge("realtime.gc.heap.size", () => GC.GetTotalMemory(forceFullCollection: false), "By",
            "Bytes the managed heap holds now (live objects and garbage not yet collected).");
        meter.CreateObservableGauge("realtime.gc.live_set", LiveBytesAfterLastFullCollection, "By",
            "Bytes that survived the last full (generation 2) collection: the live set without garbage.");
    }

    public long Connections => Volatile.Read(ref _connections);

    public long Subscriptions => Volatile.Read(ref _subscriptions);

    public long GrainActivations => Volatile.Read(ref _activations);

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
    public void Subscribed() => Interlocked.Increment(ref _subscriptions);
    public void Unsubscribed() => Interlocked.Decrement(ref _subscriptions);
    public void FrameIn() => Interlocked.Increment(ref _framesIn);
    public void FramesOut(int count) => Interlocked.Add(ref _framesOut, count);
    public void Delivered(int count) => Interlocked.Add(ref _deliveries, count);
    public void SlowConsumerClosed() => Interlocked.Increment(ref _slowConsumerCloses);
    public void RateLimited() => Interlocked.Increment(ref _rateLimited);
    public void NotificationStored() => Interlocked.Increment(ref _notifications);
    public void PublishFailed() => Interlocked.Increment(ref _publishFailures);

    public void GrainActivated()
    {
        Interlocked.Increment(ref _activations);
        Interlocked.Increment(ref _activationsTotal);
    }

    public void GrainDeactivated() => Interlocked.Decrement(ref _activations);

    /// <summary>Records a publish acknowledged after <paramref name="elapsed"/> (append to the engine included).</summary>
    public void Published(TimeSpan elapsed)
    {
        Interlocked.Increment(ref _publishes);
        _publishLatency.Record(elapsed.TotalSeconds);
    }

    // A soak run judges leaks on this, not on the heap's size: between full collections the heap also holds
    // garbage, and RSS follows the collector's budget rather than what is reachable.
    internal static long LiveBytesAfterLastFullCollection()
    {
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var last = background.Index > blocking.Index ? background : blocking;
        return last.PromotedBytes;
    }
}
