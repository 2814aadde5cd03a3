using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Wire;
using Realtime.Grains;

namespace Realtime.Api.Sessions;

/// <summary>
/// Kestrel connection middleware that answers a plain WebSocket upgrade to <c>GET /ws</c> itself, below the
/// HTTP server: it reads the request head off the connection (<see cref="UpgradeRequest"/>), writes the
/// 101 and runs the session on the connection's own pipes. A socket opened through ASP.NET Core keeps the
/// HTTP/1.1 connection, the request's context, features and header collections and the upgrade streams alive
/// for as long as it is open, about 6 KiB each; going around them is what brings an idle connection under
/// SPEC §11's budget (docs/benchmarks.md, "Fourth round").
/// <para>
/// Only a request that would be accepted is taken. Anything else (another path, a missing or repeated header,
/// a foreign Origin, a node that is stopping, a head that is not plain HTTP/1.1 or does not fit in
/// <see cref="UpgradeRequest.MaxHeadBytes"/>, TLS bytes) is handed to the HTTP server unread, where
/// <see cref="WebSocketGateway"/> and the rest of the pipeline answer it as before. Middleware added to the
/// pipeline does not see the upgrades taken here; with <c>AllowedHosts</c> set to a list this path is off, and
/// <c>Realtime:DirectUpgrade=false</c> turns it off outright.
/// </para>
/// </summary>
internal sealed class DirectUpgrade(
    ConnectionDelegate next, SessionRegistry registry, OriginPolicy origins, CompressionOptions compression, TimeSpan keepAliveTimeout, TimeSpan headersTimeout)
{
    public const string Setting = "Realtime:DirectUpgrade";

    private static readonly byte[] TimedOut = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"u8.ToArray();

    public static void Use(ListenOptions listen)
    {
        listen.Use(next =>
        {
            var services = listen.ApplicationServices;
            var kestrel = services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
            // Host filtering (AllowedHosts) is middleware this path goes around: with a list of hosts set,
            // every upgrade takes the HTTP path, where the list is enforced. Read at start-up: a list added
            // later by a configuration reload needs a restart to turn this path off.
            var hosts = services.GetRequiredService<IOptions<HostFilteringOptions>>().Value.AllowedHosts;
            if (!hosts.Contains("*"))
            {
                return next;
            }

            var upgrade = new DirectUpgrade(next, services.GetRequiredService<SessionRegistry>(), services.GetRequiredService<OriginPolicy>(),
                services.GetRequiredService<IOptions<CompressionOptions>>().Value, kestrel.Limits.KeepAliveTimeout, kestrel.Limits.RequestHeadersTimeout);
            return upgrade.OnConnectionAsync;
        });
    }

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var accepted = await ReadUpgradeAsync(connection).ConfigureAwait(false);
        if (accepted is null)
        {
            return;
        }

        await connection.Transport.Output.WriteAsync(accepted.Response).ConfigureAwait(false);
        var limits = registry.Limits;
        var frames = new FrameLimit(limits.MaxFrameBytes) { Compressed = accepted.Deflate is not null };
        using var socket = WebSocket.CreateFromStream(new DuplexPipeStream(connection.Transport, frames), new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = accepted.Subprotocol,
            KeepAliveInterval = limits.KeepAliveInterval,
            KeepAliveTimeout = limits.KeepAliveTimeout,
            DangerousDeflateOptions = accepted.Deflate,
        });
        var (format, compressFrom, token) = (accepted.Format, accepted.Deflate is null ? int.MaxValue : compression.MinBytes, accepted.Token);
        accepted = null;
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address.ToString();
        await registry.RunAsync(socket, Interlocked.Exchange(ref token, null), remote, connection.Abort, connection.ConnectionClosed, frames, format,
            compressFrom).ConfigureAwait(false);
    }

    private sealed record Accepted(byte[] Response, string? Token, string? Subprotocol, WireFormat Format, WebSocketDeflateOptions? Deflate);

    // The 101 response with what was agreed: the subprotocol the client asked for, and permessage-deflate when it
    // offered it and it is on. A request for subprotocols the server does not speak is the HTTP path's to refuse.
    private Accepted? Accept(UpgradeRequest request)
    {
        string? subprotocol = null;
        var format = WireFormat.Json;
        if (request.Protocols is { } protocols
            && !Subprotocols.TryChoose(protocols.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), out subprotocol, out format))
        {
            return null;
        }

        WebSocketDeflateOptions? deflate = null;
        string? extensions = null;
        if (compression.Enabled && request.Extensions is { } offers)
        {
            DeflateNegotiation.TryAccept(offers, compression, out deflate, out extensions);
        }

        var response = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n")
            .Append("Sec-WebSocket-Accept: ").Append(request.AcceptKey()).Append("\r\n");
        if (subprotocol is not null)
        {
            response.Append("Sec-WebSocket-Protocol: ").Append(subprotocol).Append("\r\n");
        }

        if (extensions is not null)
        {
            response.Append("Sec-WebSocket-Extensions: ").Append(extensions).Append("\r\n");
        }

        return new Accepted(Encoding.ASCII.GetBytes(response.Append("\r\n").ToString()), TokenFrom(request.Query), subprotocol, format, deflate);
    }

    // What was agreed, or null once the connection went elsewhere, timed out or ended. As in Kestrel, a new connection has KeepAliveTimeout to send its first byte and then
    // RequestHeadersTimeout for the rest of the head; a server that is stopping ends the wait at once.
    private async Task<Accepted?> ReadUpgradeAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closing);
        Arm(timeout, keepAliveTimeout);
        SequencePosition? examined = null;
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !closing.IsCancellationRequested && examined is not null)
            {
                // The head is arriving too slowly (a client dribbling it byte by byte): as Kestrel would.
                await connection.Transport.Output.WriteAsync(TimedOut).ConfigureAwait(false);
                return null;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                return null; // idle too long, the server is stopping, or the client went away
            }

            var buffer = read.Buffer;
            var parse = UpgradeRequest.TryParse(buffer, out var request, out var end);
            if (parse == UpgradeRequest.Parse.Upgrade && !registry.IsStopping && origins.Allows(request!.Origin, request.Host)
                && Accept(request) is { } accepted)
            {
                input.AdvanceTo(end);
                return accepted;
            }

            if (parse == UpgradeRequest.Parse.NeedMore && !read.IsCompleted)
            {
                if (examined is null)
                {
                    Arm(timeout, headersTimeout);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                examined = buffer.End;
                continue;
            }

            // Nothing consumed, and the examined position may not move back: the HTTP server's first read
            // returns at once with the whole request, whatever arrived after the last look.
            input.AdvanceTo(buffer.Start, examined ?? buffer.Start);
            break;
        }

        timeout.Dispose();
        await next(connection).ConfigureAwait(false);
        return null;
    }

    // Kestrel keeps an infinite limit as TimeSpan.MaxValue, which a timer cannot take.
    private static void Arm(CancellationTokenSource source, TimeSpan after)
    {
        if (after < TimeSpan.FromDays(30))
        {
            source.CancelAfter(after);
        }
    }

    /// <summary>The <c>token</c> query parameter, parsed without keeping the rest of the query.</summary>
    public static string? TokenFrom(string? query) =>
        QueryHelpers.ParseNullableQuery(query) is { } values && values.TryGetValue("token", out var token) ? token.ToString() : null;
}
