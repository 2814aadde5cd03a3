using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>A small Kestrel app of a test's own (an identity provider, a collector) on a free loopback port.</summary>
public static class LoopbackHost
{
    /// <summary>Starts an app whose routes <paramref name="map"/> adds, and returns it with its base address (no trailing slash).</summary>
    public static async Task<(WebApplication App, string Address)> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/'));
    }
}
