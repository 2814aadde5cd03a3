using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Realtime.Api.Diagnostics;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Extensions;

/// <summary>OpenTelemetry for a node: metrics served at <c>/metrics</c>, and traces and metrics over OTLP when asked.</summary>
public static class TelemetryExtensions
{
    /// <summary>The setting (usually the environment variable) that turns the OTLP exporter on.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    // A prefix: every meter ASP.NET Core creates.
    private const string AspNetCoreMeters = "Microsoft.AspNetCore";

    // Orleans' meter and activity sources: named ahead of the runtime port, and harmless while nothing emits on them.
    private const string OrleansMeter = "Microsoft.Orleans";
    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static WebApplicationBuilder AddRealtimeTelemetry(this WebApplicationBuilder builder)
    {
        // The node's meter and ASP.NET Core's (Hosting, Kestrel, Routing, …) come from the host's IMeterFactory. They are
        // enabled by rules for this host's own meters (MeterScope.Local), not by AddMeter, which would listen to every
        // meter of that name in the process: two nodes in one process would report each other's counters.
        builder.Services.AddMetrics(metrics => metrics
            .EnableMetrics(RealtimeMetrics.MeterName, scopes: MeterScope.Local)
            .EnableMetrics(AspNetCoreMeters, scopes: MeterScope.Local));
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("realtime"))
            .WithMetrics(metrics => metrics
                .AddMeter(OrleansMeter)
                .AddRuntimeInstrumentation() // System.Runtime: one per process, so process-wide is right
                // No cached scrape: a test or an operator reading /metrics right after an action sees its effect.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(tracing => tracing
                .AddSource(RealtimeTracing.SourceName)
                .AddSource(OrleansSources)
                .AddAspNetCoreInstrumentation(http =>
                {
                    // Scrapes and probes arrive every few seconds and say nothing about the service.
                    http.Filter = context => !context.Request.Path.StartsWithSegments("/metrics") && !context.Request.Path.StartsWithSegments("/health");

                    // The upgrade URL may carry ?token=: a span keeps no query string at all.
                    http.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null);
                }));

        // Exporting needs somewhere to send to; the standard OTEL_* settings say where and how.
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Serves every metric of the node as Prometheus text at <c>/metrics</c>.</summary>
    public static IEndpointRouteBuilder MapRealtimeMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
