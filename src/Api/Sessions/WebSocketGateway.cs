using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Wire;
using Realtime.Grains;

namespace Realtime.Api.Sessions;

public static class WebSocketGateway
{
    /// <summary>
    /// Maps <c>GET /ws</c>: Origin check before the upgrade, then one <see cref="Session"/> per socket. Plain
    /// HTTP/1.1 upgrades that will be accepted are usually taken earlier, below the HTTP server, by
    /// <see cref="DirectUpgrade"/>; this endpoint answers the rest, refusals included.
    /// </summary>
    public static IEndpointRouteBuilder MapRealtimeSockets(this IEndpointRouteBuilder app)
    {
        app.Map("/ws", static async (HttpContext context, SessionRegistry registry, OriginPolicy origins, IOptions<LimitsOptions> limits,
            IOptions<CompressionOptions> compressionOptions) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                return Results.Problem("GET /ws expects a WebSocket upgrade", statusCode: StatusCodes.Status400BadRequest);
            }

            if (registry.IsStopping)
            {
                // A client told to reconnect (4010) must not land on this node again while it stops.
                return Results.Problem("the node is shutting down; connect to another node", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            if (!origins.Allows(context.Request, out var origin))
            {
                SessionsLog.ForeignOrigin(registry.Logger, context.TraceIdentifier, origin);
                return Results.Problem($"Origin '{origin}' is not allowed", statusCode: StatusCodes.Status403Forbidden);
            }

            var requested = context.WebSockets.WebSocketRequestedProtocols;
            string? subprotocol = null;
            var format = WireFormat.Json;
            if (requested.Count > 0 && !Subprotocols.TryChoose(requested, out subprotocol, out format))
            {
                return Results.Problem(
                    $"unknown subprotocol '{string.Join(", ", requested)}': ask for {Subprotocols.Json} (JSON text frames, the default) or {Subprotocols.MessagePack}",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            // The client's context takeover cannot be declined here: ASP.NET Core agrees to what the client offers.
            var compression = compressionOptions.Value;
            var frames = (context.Features.Get<IHttpUpgradeFeature>() as FrameLimitUpgrade)?.Limit;
            var offered = compression.Enabled && context.Request.Headers.SecWebSocketExtensions.ToString().Contains("permessage-deflate", StringComparison.OrdinalIgnoreCase);
            frames?.Compressed = offered;
            var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                SubProtocol = subprotocol,
                KeepAliveInterval = limits.Value.KeepAliveInterval,
                KeepAliveTimeout = limits.Value.KeepAliveTimeout,
                DangerousEnableCompression = compression.Enabled,
                DisableServerContextTakeover = !compression.ServerContextTakeover,
                ServerMaxWindowBits = compression.ServerMaxWindowBits,
            });
            // Parsed here rather than through Request.Query, which would keep the parsed query (token included)
            // in the request's features for as long as the socket is open.
            var token = DirectUpgrade.TokenFrom(context.Request.QueryString.Value);
            await registry.RunAsync(socket, token, context.Connection.RemoteIpAddress?.ToString(), context.Abort, context.RequestAborted,
                frames, format, offered ? compression.MinBytes : int.MaxValue);
            return Results.Empty;
        }).ExcludeFromDescription();
        return app;
    }
}
