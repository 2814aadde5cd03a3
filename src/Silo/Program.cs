using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Orleans.Dashboard;
using Realtime.Grains;
using Realtime.Grains.Diagnostics;
using Realtime.Silo;

// A silo on its own: it holds grains and stream queues for front ends that join as Orleans clients
// (src/Api with Realtime:Orleans:Role=client). It serves health and, when enabled, the Orleans dashboard.
var builder = WebApplication.CreateSlimBuilder(args);
builder.AddRealtimeSilo();
builder.Services.AddHealthChecks().AddCheck<EngineHealthCheck>("store", tags: ["ready"]);

var app = builder.Build();
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
app.MapRealtimeDashboard();
app.Run();
