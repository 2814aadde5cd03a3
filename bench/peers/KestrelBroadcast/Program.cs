using Realtime.Bench.KestrelBroadcast;

// A bare broadcaster: channel → sockets, no auth, no history; each message is serialised once and the same
// bytes are queued to every subscriber. Listens where ASPNETCORE_URLS says.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton<Rooms>();

var app = builder.Build();
app.UseWebSockets();
app.Map("/ws", async (HttpContext context, Rooms rooms) =>
{
    if (!context.WebSockets.IsWebSocketRequest)
    {
        return Results.BadRequest();
    }

    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    await new Connection(socket, rooms).RunAsync();
    return Results.Empty;
});
app.MapGet("/metrics", () => $"gc_heap_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\n");
app.Run();
