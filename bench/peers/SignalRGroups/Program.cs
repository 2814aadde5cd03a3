using Microsoft.AspNetCore.Http.Connections;
using Realtime.Bench.SignalRGroups;

// SignalR as most apps use it: a hub, one group per channel, the JSON hub protocol, WebSockets only.
// Listens where ASPNETCORE_URLS says. With SIGNALR_REDIS=host:port, several nodes share groups through SignalR's
// Redis backplane, as apps scale SignalR out.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var signalR = builder.Services.AddSignalR();
if (Environment.GetEnvironmentVariable("SIGNALR_REDIS") is { Length: > 0 } redis)
{
    signalR.AddStackExchangeRedis(redis, o => o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal("bench"));
}

var app = builder.Build();
app.MapHub<ChannelHub>("/hub", o => o.Transports = HttpTransportType.WebSockets);
app.MapGet("/metrics", () => $"gc_heap_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\n");
app.Run();
