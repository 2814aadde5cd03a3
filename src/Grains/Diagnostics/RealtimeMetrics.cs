using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Realtime.Grains.Diagnostics;

/// <summary>
/// The node's counters. Hot paths only do an <see cref="Interlocked"/> add; the same values are
/// exposed as a <see cref="Meter"/> named "Realtime" (for OpenTelemetry) and as Prometheus text.
/// </summary>
public sealed class RealtimeMetrics : IDisposable
{
    public const string MeterName = "Realtime";
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly Meter _meter = new(MeterName);
    private readonly long[] _latencyCounts = new long[LatencyBuckets.Length + 1];
    private long _latencySumMicros;
    private long _connections, _subscriptions, _framesIn, _framesOut, _deliveries, _slowConsumerCloses;
    private long _rateLimited, _activations, _activationsTotal, _publishes, _publishFailures, _notifications;

    public RealtimeMetrics()
    {
        _meter.CreateObservableUpDownCounter("realtime.connections", () => Volatile.Read(ref _connections));
        _meter.CreateObservableUpDownCounter("realtime.subscriptions", () => Volatile.Read(ref _subscriptions));
        _meter.CreateObservableCounter("realtime.frames.in", () => Volatile.Read(ref _framesIn));
        _meter.CreateObservableCounter("realtime.frames.out", () => Volatile.Read(ref _framesOut));
        _meter.CreateObservableCounter("realtime.deliveries", () => Volatile.Read(ref _deliveries));
        _meter.CreateObservableCounter("realtime.slow_consumer.closes", () => Volatile.Read(ref _slowConsumerCloses));
        _meter.CreateObservableCounter("realtime.commands.rate_limited", () => Volatile.Read(ref _rateLimited));
        _meter.CreateObservableUpDownCounter("realtime.grain.activations", () => Volatile.Read(ref _activations));
        _meter.CreateObservableCounter("realtime.publishes", () => Volatile.Read(ref _publishes));
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
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < LatencyBuckets.Length && seconds > LatencyBuckets[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _latencyCounts[bucket]);
        Interlocked.Add(ref _latencySumMicros, (long)(seconds * 1_000_000));
    }

    /// <summary>Renders every metric in the Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheusText()
    {
        var text = new StringBuilder();
        Gauge(text, "realtime_connections", "Open WebSocket connections.", _connections);
        Gauge(text, "realtime_subscriptions", "Channel subscriptions held by open connections.", _subscriptions);
        Counter(text, "realtime_frames_in_total", "Frames received from clients.", _framesIn);
        Counter(text, "realtime_frames_out_total", "Frames sent to clients.", _framesOut);
        Counter(text, "realtime_deliveries_total", "Channel messages queued to local subscribers.", _deliveries);
        Counter(text, "realtime_slow_consumer_closes_total", "Connections closed with 4008 for not reading.", _slowConsumerCloses);
        Counter(text, "realtime_rate_limited_commands_total", "Commands refused by the per-connection rate limit.", _rateLimited);
        Gauge(text, "realtime_grain_activations", "Grain activations on this node.", _activations);
        Counter(text, "realtime_grain_activations_total", "Grains activated since start.", _activationsTotal);
        Counter(text, "realtime_publish_failures_total", "Publishes that failed (engine unavailable or error).", _publishFailures);
        Counter(text, "realtime_notifications_total", "Notifications stored.", _notifications);

        // The process as a whole, so a soak run can tell a leak from a working set that has settled.
        Gauge(text, "process_resident_memory_bytes", "Resident set size of the node process.", Environment.WorkingSet);
        Gauge(text, "dotnet_gc_heap_bytes", "Bytes the managed heap holds (live objects and garbage not yet collected).", GC.GetTotalMemory(forceFullCollection: false));
        Gauge(text, "realtime_gc_heap_bytes", "Managed heap size at the last garbage collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
        Gauge(text, "dotnet_gc_live_bytes_after_gen2", "Bytes that survived the last full (generation 2) collection: the live set without garbage.", LiveBytesAfterLastFullCollection());
        Counter(text, "dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start.", GC.GetTotalAllocatedBytes(precise: false));
        Counter(text, "dotnet_gc_collections_total", "Garbage collections since start (all generations).", GC.CollectionCount(0));
        Counter(text, "dotnet_gc_gen2_collections_total", "Full (generation 2) garbage collections since start.", GC.CollectionCount(2));
        Counter(text, "dotnet_gc_pause_milliseconds_total", "Time the garbage collector paused the process since start.", (long)GC.GetTotalPauseDuration().TotalMilliseconds);

        text.Append("# HELP realtime_publish_latency_seconds Time from publish to acknowledgement, engine append included.\n");
        text.Append("# TYPE realtime_publish_latency_seconds histogram\n");
        long cumulative = 0;
        for (var i = 0; i < LatencyBuckets.Length; i++)
        {
            cumulative += Volatile.Read(ref _latencyCounts[i]);
            text.Append(CultureInfo.InvariantCulture, $"realtime_publish_latency_seconds_bucket{{le=\"{LatencyBuckets[i]}\"}} {cumulative}\n");
        }

        cumulative += Volatile.Read(ref _latencyCounts[^1]);
        text.Append(CultureInfo.InvariantCulture, $"realtime_publish_latency_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n");
        text.Append(CultureInfo.InvariantCulture, $"realtime_publish_latency_seconds_sum {Volatile.Read(ref _latencySumMicros) / 1_000_000.0}\n");
        text.Append(CultureInfo.InvariantCulture, $"realtime_publish_latency_seconds_count {cumulative}\n");
        return text.ToString();
    }

    public void Dispose() => _meter.Dispose();

    // A soak run judges leaks on this, not on the heap's size: between full collections the heap also holds
    // garbage, and RSS follows the collector's budget rather than what is reachable.
    private static long LiveBytesAfterLastFullCollection()
    {
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var last = background.Index > blocking.Index ? background : blocking;
        return last.PromotedBytes;
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) => Write(text, name, help, "gauge", value);

    private static void Counter(StringBuilder text, string name, string help, long value) => Write(text, name, help, "counter", value);

    private static void Write(StringBuilder text, string name, string help, string type, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {value}\n");
}
