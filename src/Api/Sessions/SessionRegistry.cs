using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Realtime.Api.Auth;
using Realtime.Api.Feeds;
using Realtime.Contracts.Wire;
using Realtime.Grains;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Sessions;

/// <summary>
/// The sockets of this node and what they share. One timer for all of them closes sockets that did
/// not authenticate in time or whose token expired (4001); at shutdown every socket is told to
/// reconnect elsewhere (4010).
/// </summary>
internal sealed class SessionRegistry(
    IGrainFactory grains,
    ChannelFeeds feeds,
    IUserSessions users,
    FrontEndIdentity frontEnd,
    JwtValidator tokens,
    IOptions<LimitsOptions> limits,
    RealtimeMetrics metrics,
    TimeProvider time,
    ILogger<SessionRegistry> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public IGrainFactory Grains => grains;
    public ChannelFeeds Feeds => feeds;
    public IUserSessions Users => users;
    public FrontEndIdentity FrontEnd => frontEnd;
    public JwtValidator Tokens => tokens;
    public LimitsOptions Limits => limits.Value;
    public string NodeId => frontEnd.Node;
    public RealtimeMetrics Metrics => metrics;
    public TimeProvider Time => time;
    public ILogger Logger => logger;

    public int Count => _sessions.Count;

    /// <summary>True once shutdown began: new sockets are refused so clients reconnect elsewhere.</summary>
    public bool IsStopping { get; private set; }

    /// <summary>Runs one socket to its end. <paramref name="abortConnection"/> and <paramref name="connectionClosed"/> are
    /// the connection's below the socket; <paramref name="compressFrom"/>: the size from which frames are compressed,
    /// when permessage-deflate was agreed.</summary>
    public async Task RunAsync(WebSocket socket, string? queryToken, string? remote, Action abortConnection, CancellationToken connectionClosed,
        FrameLimit? frames, WireFormat format, int compressFrom)
    {
        var session = new Session(socket, this, NewClientId(), abortConnection, connectionClosed, format, compressFrom);
        frames?.OnExceeded(() => session.RequestClose(CloseCodes.MessageTooBig, $"frame over {frames.MaxFrameBytes} bytes", dropQueue: true));
        _sessions[session.ClientId] = session;
        metrics.ConnectionOpened();
        SessionsLog.Opened(logger, session.ClientId, remote);
        try
        {
            // Hand the token over without keeping it in this method's state for the socket's lifetime.
            var token = queryToken;
            queryToken = null;
            await session.RunAsync(token).ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(session.ClientId, out _);
            metrics.ConnectionClosed();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Min(1000, Limits.HandshakeTimeout.TotalMilliseconds / 4)));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Sweep(time.GetUtcNow());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // Runs before any hosted service stops, the server included: otherwise the server would wait out
    // its shutdown timeout on open sockets and then drop them without a word.
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        IsStopping = true;
        return CloseAllAsync(Limits.CloseTimeout);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Tells every client to reconnect elsewhere (4010) and waits for the sockets to close.</summary>
    public async Task CloseAllAsync(TimeSpan wait)
    {
        SessionsLog.ShuttingDown(logger, _sessions.Count);
        var farewell = ServerFrames.Disconnect(CloseCodes.ShuttingDown, "server shutting down", reconnect: true);
        foreach (var session in _sessions.Values)
        {
            session.RequestClose(CloseCodes.ShuttingDown, "server shutting down", dropQueue: false, farewell);
        }

        var deadline = DateTime.UtcNow + wait;
        while (!_sessions.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var session in _sessions.Values)
        {
            if (session.IsClosing)
            {
                continue;
            }

            if (session.Identity is null && now >= session.HandshakeDeadline)
            {
                session.RequestClose(CloseCodes.Unauthorized, "no token within the handshake timeout", dropQueue: false,
                    ServerFrames.Disconnect(CloseCodes.Unauthorized, "no token within the handshake timeout", reconnect: false));
            }
            else if (session.Identity is not null && now >= session.ExpiresAt)
            {
                session.RequestClose(CloseCodes.Unauthorized, "token expired", dropQueue: false,
                    ServerFrames.Disconnect(CloseCodes.Unauthorized, "token expired", reconnect: true));
            }
        }
    }

    private static string NewClientId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
