using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Realtime.Silo;

// A headless silo node: joins the cluster through the engine and runs the cluster jobs.
var builder = WebApplication.CreateSlimBuilder(args);
builder.AddRealtimeSilo();
builder.Services.AddHealthChecks();

var app = builder.Build();
app.MapHealthChecks("/health/live");
app.Run();
