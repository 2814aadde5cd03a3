using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Realtime.Api.Auth;
using Realtime.Api.Extensions;
using Realtime.Testing;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// One real node: Kestrel on a free loopback port, composed exactly as Program.cs does, with
/// per-test settings layered on top.
/// </summary>
public sealed class RealtimeServer : IAsyncDisposable
{
    public const string Secret = "test-secret-0123456789-0123456789-abcdef";
    public const string ApiKey = "test-api-key";

    private RealtimeServer(WebApplication app, Uri baseUri)
    {
        App = app;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri };
        Http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
    }

    public WebApplication App { get; }

    public Uri BaseUri { get; }

    public Uri WebSocketUri => new($"ws://{BaseUri.Authority}/ws");

    /// <summary>An HTTP client that sends the API key.</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Activations of a grain class on this node's silo (by its Orleans grain type, e.g. <c>ChannelGrain</c>).</summary>
    public async Task<int> CountActivationsAsync(string grainClass) => (await ActivationsAsync(grainClass)).Count;

    /// <summary>The grain ids of this grain class's activations in the cluster.</summary>
    public async Task<List<string>> ActivationsAsync(string grainClass)
    {
        var stats = await Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return [.. stats.Where(s => s.GrainType.Split(',')[0].EndsWith("." + grainClass, StringComparison.Ordinal)).Select(s => s.GrainId.ToString())];
    }

    public static async Task<RealtimeServer> StartAsync(
        IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string environment = "Testing")
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Realtime:Auth:JwtSecret"] = Secret,
            ["Realtime:Auth:DevTokens"] = "true",
            ["Realtime:Api:Keys:0"] = ApiKey,
            ["Realtime:NodeId"] = "node-a",
            // Each server co-hosts its own one-silo cluster: free ports keep the servers of parallel tests apart.
            ["Realtime:Orleans:SiloPort"] = LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Realtime:Orleans:GatewayPort"] = LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddRealtime();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapRealtime();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RealtimeServer(app, new Uri(address));
    }

    /// <summary>A token signed with the server's secret.</summary>
    public static string Token(string user, IReadOnlyList<string>? channels = null, TimeSpan? lifetime = null) =>
        Jwt.Sign(Secret, user, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1)), channels);

    public Task<TestClient> ConnectAsync(string user, IReadOnlyList<string>? channels = null, string? subprotocol = null, bool deflate = false) =>
        TestClient.ConnectAsync(this, Token(user, channels), subprotocol: subprotocol, deflate: deflate);

    /// <summary>Every series of <c>/metrics</c>, keyed as <see cref="PrometheusText.Parse"/> says.</summary>
    public async Task<Dictionary<string, double>> MetricsAsync() => PrometheusText.Parse(await Http.GetStringAsync("/metrics"));

    public async Task<T> PostAsync<T>(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
