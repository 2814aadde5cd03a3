using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Realtime.Api.Diagnostics;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Diagnostics;

/// <summary>Traces: a span per socket command on the "Realtime" source, and the OTLP exporter that OTEL_EXPORTER_OTLP_ENDPOINT turns on.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Each_socket_command_is_a_span_of_the_realtime_source_naming_its_channel()
    {
        var channel = $"chat:traced{Guid.NewGuid():N}"; // the source is process-wide: other tests' spans are told apart by it
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RealtimeTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await RealtimeServer.StartAsync();
        await using var client = await server.ConnectAsync("alice");

        await client.CallAsync(new { type = "subscribe", channel });
        await client.CallAsync(new { type = "publish", channel, data = 1 });

        await Eventually.TrueAsync(() => spans.Count(s => Equals(s.GetTagItem("realtime.channel"), channel)) == 2, "both commands' spans ended");
        var ours = spans.Where(s => Equals(s.GetTagItem("realtime.channel"), channel)).ToArray();
        Assert.Equal(["realtime subscribe", "realtime publish"], ours.Select(s => s.DisplayName));
        Assert.All(ours, s => Assert.False(string.IsNullOrEmpty(s.GetTagItem("realtime.client") as string), "the span names the client"));
    }

    [Fact]
    public async Task With_an_otlp_endpoint_set_the_node_exports_its_spans_and_metrics_there()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using (var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        }))
        {
            await using var client = await server.ConnectAsync("alice");
            await client.CallAsync(new { type = "publish", channel = "chat:exported", data = 1 });
            await Eventually.TrueAsync(() => Contains(collector, "traces", "realtime publish") && Contains(collector, "metrics", "realtime.publishes"),
                "the publish span and the node's metrics reached the collector", TimeSpan.FromSeconds(30));
        }

        Assert.True(Contains(collector, "traces", "service.name"), "the spans carry the service's resource");
    }

    // OTLP is protobuf, in which a string is its UTF-8 bytes: enough to find a span or metric by name.
    private static bool Contains(OtlpCollector collector, string signal, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return collector.Exports.Any(e => e.Signal == signal && e.Body.AsSpan().IndexOf(needle) >= 0);
    }
}
