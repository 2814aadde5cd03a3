using Microsoft.Extensions.Options;
using Realtime.Api.Auth;
using Realtime.Contracts.Rest;
using Realtime.Silo;
using Realtime.Silo.Engines;

namespace Realtime.Api.Rest;

/// <summary>Cluster info and the development token endpoint.</summary>
internal static class NodeApi
{
    public static RouteGroupBuilder MapNodeApi(this RouteGroupBuilder api)
    {
        api.MapGet("/info", async (IRealtimeEngine engine, IOptions<RealtimeOptions> options, CancellationToken ct) =>
        {
            var nodes = await engine.ListNodesAsync(ct);
            return TypedResults.Ok(new InfoResponse(options.Value.NodeId, engine.Name,
                nodes.Select(n => new NodeDto(n.Node, n.LastSeen, n.Connections, n.Channels)).ToArray()));
        });
        return api;
    }

    public static IEndpointRouteBuilder MapDevTokens(this IEndpointRouteBuilder app)
    {
        app.MapPost("/dev/token", (DevTokenRequest? body, JwtIssuer issuer) =>
        {
            if (body?.User is not { Length: > 0 and <= 200 } user)
            {
                return (IResult)Problems.BadRequest("the body needs 'user' (1 to 200 characters)");
            }

            var (token, expiresAt) = issuer.Issue(user, body.Channels);
            return TypedResults.Ok(new DevTokenResponse(token, user, expiresAt));
        });
        return app;
    }
}
