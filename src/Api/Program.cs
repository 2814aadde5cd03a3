using Realtime.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddRealtime();

var app = builder.Build();
app.MapRealtime();
app.Run();

/// <summary>The entry point, visible to tests that host the app.</summary>
public partial class Program;
