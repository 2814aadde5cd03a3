using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Realtime.Silo;
using Realtime.Silo.Diagnostics;

// A headless silo node: joins the cluster through the engine, heartbeats and runs the cluster jobs
// (scheduled notifications, retention, dead-node presence). It serves no sockets, only health.
var builder = WebApplication.CreateSlimBuilder(args);
builder.AddRealtimeSilo();
builder.Services.AddHealthChecks().AddCheck<EngineHealthCheck>("engine", tags: ["ready"]);

var app = builder.Build();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
app.Run();
