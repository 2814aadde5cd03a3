using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Realtime.Api.Auth;
using Realtime.Api.Feeds;
using Realtime.Api.Rest;
using Realtime.Api.Sessions;
using Realtime.Grains;
using Realtime.Grains.Diagnostics;
using Realtime.Silo;
using Scalar.AspNetCore;

namespace Realtime.Api.Extensions;

public static class RealtimeExtensions
{
    /// <summary>Everything one front end needs: a co-hosted silo with the grains (<c>Realtime:Orleans:Role=silo</c>,
    /// the default) or an Orleans client of the cluster's silos (<c>client</c>), then the socket gateway, the REST API
    /// and health.</summary>
    public static WebApplicationBuilder AddRealtime(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        switch (configuration[$"{OrleansOptions.Section}:Role"] ?? OrleansOptions.SiloRole)
        {
            case OrleansOptions.SiloRole:
                builder.AddRealtimeSilo();
                break;
            case OrleansOptions.ClientRole:
                builder.AddRealtimeOptions();
                if (RealtimeOptions.EngineOf(configuration) == RealtimeOptions.PostgresEngine)
                {
                    // The gateways are read from PostgreSQL: a missing connection string stops start-up naming the key.
                    services.AddOptions<Realtime.Grains.Stores.Postgres.PostgresOptions>().BindSection(Realtime.Grains.Stores.Postgres.PostgresOptions.Section);
                }

                builder.UseOrleansClient(client => client.AddRealtime(configuration));
                break;
            case var role:
                throw new InvalidOperationException($"Realtime:Orleans:Role is '{role}'; it must be 'silo' or 'client'.");
        }

        builder.AddRealtimeTelemetry();

        // After Orleans: hosted services start in order, and the front end subscribes to its streams at start.
        services.AddSingleton<FrontEndIdentity>();
        services.AddSingleton<ChannelFeeds>();
        services.AddSingleton<IUserSessions, UserSessions>();
        services.AddSingleton<FrontEnd>();
        services.AddHostedService(sp => sp.GetRequiredService<FrontEnd>());

        services.AddOptions<AuthOptions>().BindSection(AuthOptions.Section);
        services.AddOptions<CompressionOptions>().BindSection(CompressionOptions.Section);
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<ApiOptions>().Configure(o => o.Keys.AddRange(ReadList(configuration, "Realtime:Api:Keys")));
        services.AddOptions<OriginOptions>().Configure(o => o.Origins.AddRange(ReadList(configuration, OriginOptions.Section)));
        services.AddSingleton<JwtValidator>();
        services.AddSingleton<JwtIssuer>();
        services.AddSingleton<OriginPolicy>();
        services.AddSingleton<ApiKeyFilter>();
        services.AddSingleton<SessionRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionRegistry>());

        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, RealtimeJsonContext.Default));
        services.AddOpenApi();
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"])
            .AddCheck<AcceptingHealthCheck>("sockets", tags: ["ready"]);

        // Kestrel does not bind Kestrel:Limits on its own. Request headers get 10 s (Kestrel's default
        // is 30 s), the same as HandshakeTimeout, so a client dribbling its upgrade request one byte at
        // a time holds a connection no longer than one that never authenticates.
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            context.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits);
            if (context.Configuration.GetValue(DirectUpgrade.Setting, defaultValue: true))
            {
                kestrel.ConfigureEndpointDefaults(DirectUpgrade.Use);
            }
        });

        // Request logs would carry ?token= from the upgrade URL: keep them out of the logs.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Warning);
        return builder;
    }

    public static WebApplication MapRealtime(this WebApplication app)
    {
        // Unreadable bodies surface as BadHttpRequestException: answer 400 with problem details, not 500.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.Use(FrameLimitUpgrade.WrapAsync); // before UseWebSockets, which takes the upgrade feature it finds
        app.UseWebSockets();
        app.Use(ApiKeyFilter.CheckAsync); // before model binding: no key means 401, whatever the body

        app.MapRealtimeSockets();
        app.MapRealtimeApi();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapRealtimeMetrics();
        app.MapRealtimeDashboard();
        app.MapOpenApi();
        if (app.Environment.IsDevelopment())
        {
            // An interactive console over the OpenAPI document (/scalar/v1): a developer's tool, so
            // production serves the document alone.
            app.MapScalarApiReference();
        }

        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DevTokens)
        {
            app.MapDevTokens();
        }

        return app;
    }

    /// <summary>Maps the REST API under <c>/api</c>, behind the API key.</summary>
    public static IEndpointRouteBuilder MapRealtimeApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api")
            .WithMetadata(new ApiKeyFilter.Required())
            .AddEndpointFilter<ApiKeyFilter>()
            .AddEndpointFilter<Problems.Filter>()
            .WithTags("Realtime");
        api.MapChannelsApi();
        api.MapUsersApi();
        api.MapNodeApi();
        return app;
    }

    // A list setting may be given as an array (Key:0, Key:1) or as one comma-separated value.
    private static IEnumerable<string> ReadList(IConfiguration configuration, string key)
    {
        var section = configuration.GetSection(key);
        var values = section.Value is { Length: > 0 } single
            ? single.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value).OfType<string>();
        return values.Where(v => v.Length > 0).ToArray();
    }
}
