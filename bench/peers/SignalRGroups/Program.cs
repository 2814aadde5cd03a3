using Microsoft.AspNetCore.Http.Connections;
using Realtime.Bench.SignalRGroups;

// SignalR as most apps use it: a hub, one group per channel, the JSON hub protocol, WebSockets only.
// Listens where ASPNETCORE_URLS says.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSignalR();

var app = builder.Build();
app.MapHub<ChannelHub>("/hub", o => o.Transports = HttpTransportType.WebSockets);
app.MapGet("/metrics", () => $"gc_heap_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\n");
app.Run();
