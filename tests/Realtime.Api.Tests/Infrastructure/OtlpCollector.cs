using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// Stands in for an OpenTelemetry collector on loopback Kestrel: it keeps the body of every OTLP/HTTP export
/// (<c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) and answers 200, as a collector does.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> _exports = new();
    private WebApplication? _app;

    public string Endpoint { get; private set; } = "";

    public IReadOnlyCollection<(string Signal, byte[] Body)> Exports => _exports;

    public static async Task<OtlpCollector> StartAsync()
    {
        var collector = new OtlpCollector();
        (collector._app, collector.Endpoint) = await LoopbackHost.StartAsync(app => app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            collector._exports.Enqueue((signal, body.ToArray()));
            return Results.Ok();
        }));
        return collector;
    }

    public async ValueTask DisposeAsync()
    {
        await _app!.StopAsync();
        await _app.DisposeAsync();
    }
}
