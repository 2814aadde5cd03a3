using Microsoft.Extensions.Options;
using Realtime.Api.Auth;
using Realtime.Contracts.Rest;
using Realtime.Grains;
using Realtime.Grains.Diagnostics;
using Realtime.Contracts.Grains;

namespace Realtime.Api.Rest;

/// <summary>Cluster info and the development token endpoint.</summary>
internal static class NodeApi
{
    public static RouteGroupBuilder MapNodeApi(this RouteGroupBuilder api)
    {
        api.MapGet("/info", async (IGrainFactory grains, IOptions<RealtimeOptions> options, IOptions<SiloOptions> timing) =>
        {
            // Front ends report every heartbeat: one silent for the node timeout is gone.
            var nodes = await grains.GetGrain<INodeDirectoryGrain>(0).ListAsync(timing.Value.NodeTimeout);
            return TypedResults.Ok(new InfoResponse(options.Value.NodeId, options.Value.Engine,
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
