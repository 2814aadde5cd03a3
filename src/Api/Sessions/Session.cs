using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Realtime.Api.Auth;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Sessions;

/// <summary>
/// One socket. A reader loop parses and answers commands one at a time; a single writer loop drains
/// a queue bounded in bytes. Pushes from grains only append to that queue, so a client that does not
/// read costs the node at most <c>MaxQueueBytes</c> and is then closed with 4008; it never slows others.
/// </summary>
internal sealed partial class Session : IUserSession
{
    private const int InitialReceiveBytes = 4 * 1024;

    private readonly WebSocket _socket;
    private readonly SessionRegistry _registry;
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, ChannelSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _aborted = new();
    private CommandRateLimiter _rate;
    private long _queuedBytes;
    private volatile bool _dropQueue;
    private int _closeRequested;
    private int _closeCode = CloseCodes.InternalError;
    private string _closeReason = "";
    private byte[]? _farewell;

    public Session(WebSocket socket, SessionRegistry registry, string clientId)
    {
        _socket = socket;
        _registry = registry;
        ClientId = clientId;
        _rate = new CommandRateLimiter(registry.Limits.CommandsPerSecond, registry.Limits.CommandBurst);
        HandshakeDeadline = registry.Time.GetUtcNow() + registry.Limits.HandshakeTimeout;
    }

    public string ClientId { get; }

    string IUserSession.Client => ClientId;

    public ClientIdentity? Identity { get; private set; }

    public DateTimeOffset ExpiresAt { get; private set; } = DateTimeOffset.MaxValue;

    public DateTimeOffset HandshakeDeadline { get; }

    public bool IsClosing => Volatile.Read(ref _closeRequested) != 0;

    public async Task RunAsync(string? queryToken)
    {
        var writer = WriteLoopAsync();
        try
        {
            if (queryToken is not null)
            {
                await AuthenticateAsync(queryToken, replyTo: null).ConfigureAwait(false);
            }

            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            SessionsLog.SocketFailed(_registry.Logger, e, ClientId);
        }
        finally
        {
            RequestClose(_socket.CloseStatus is { } status ? (int)status : CloseCodes.InternalError, "socket ended", dropQueue: true);
            await LeaveEverythingAsync().ConfigureAwait(false);
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _socket.Abort();
            SessionsLog.Closed(_registry.Logger, ClientId, Identity?.User, _closeCode, _closeReason);
        }
    }

    /// <summary>Queues a frame. Called from grains on any thread; never blocks.</summary>
    public void Enqueue(byte[] frame)
    {
        if (_dropQueue)
        {
            return;
        }

        if (Interlocked.Add(ref _queuedBytes, frame.Length) > _registry.Limits.MaxQueueBytes)
        {
            CloseAsSlowConsumer();
            return;
        }

        if (!_outbound.Writer.TryWrite(frame))
        {
            Interlocked.Add(ref _queuedBytes, -frame.Length);
        }
    }

    void IUserSession.Push(byte[] frame) => Enqueue(frame);

    void IUserSession.Close(int closeCode, string reason) =>
        RequestClose(closeCode, reason, dropQueue: false, ServerFrames.Disconnect(closeCode, reason, reconnect: false));

    /// <summary>
    /// Starts the close handshake once: the writer sends what is queued (unless <paramref name="dropQueue"/>),
    /// then <paramref name="farewell"/> (a <c>disconnect</c> push), then the close frame. If the client
    /// does not finish the handshake within <c>CloseTimeout</c> the connection is aborted.
    /// </summary>
    public void RequestClose(int code, string reason, bool dropQueue, byte[]? farewell = null)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        (_closeCode, _closeReason, _farewell) = (code, reason, farewell);
        if (dropQueue)
        {
            _dropQueue = true;
        }

        _outbound.Writer.TryComplete();
        _aborted.CancelAfter(_registry.Limits.CloseTimeout);
    }

    private void CloseAsSlowConsumer()
    {
        if (IsClosing)
        {
            return;
        }

        _registry.Metrics.SlowConsumerClosed();
        SessionsLog.SlowConsumer(_registry.Logger, ClientId, Identity?.User, _registry.Limits.MaxQueueBytes);
        RequestClose(CloseCodes.SlowConsumer, "slow consumer", dropQueue: true,
            ServerFrames.Disconnect(CloseCodes.SlowConsumer, "slow consumer", reconnect: true));
    }

    private async Task WriteLoopAsync()
    {
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_aborted.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    if (!_dropQueue)
                    {
                        await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _aborted.Token).ConfigureAwait(false);
                        _registry.Metrics.FrameOut();
                    }

                    Interlocked.Add(ref _queuedBytes, -frame.Length);
                }
            }

            if (_farewell is { } farewell && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.SendAsync(farewell, WebSocketMessageType.Text, endOfMessage: true, _aborted.Token).ConfigureAwait(false);
                _registry.Metrics.FrameOut();
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, _aborted.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Cancelling a send aborts the socket, which ends the reader loop too.
            _socket.Abort();
        }
        finally
        {
            while (reader.TryRead(out _))
            {
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        var limits = _registry.Limits;
        var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
        var count = 0;
        try
        {
            while (true)
            {
                var space = Math.Min(buffer.Length, limits.MaxFrameBytes + 1) - count;
                var result = await _socket.ReceiveAsync(buffer.AsMemory(count, space), _aborted.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // Echo the client's close code, then finish.
                    RequestClose((int?)_socket.CloseStatus ?? CloseCodes.InternalError, _socket.CloseStatusDescription ?? "", dropQueue: true);
                    return;
                }

                count += result.Count;
                if (count > limits.MaxFrameBytes)
                {
                    RequestClose(CloseCodes.MessageTooBig, $"frame over {limits.MaxFrameBytes} bytes", dropQueue: true);
                    await DrainUntilClosedAsync(buffer).ConfigureAwait(false);
                    return;
                }

                if (!result.EndOfMessage)
                {
                    if (count == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 4, limits.MaxFrameBytes + 1));
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    continue;
                }

                _registry.Metrics.FrameIn();
                if (!IsClosing)
                {
                    await HandleFrameAsync(result.MessageType, buffer.AsMemory(0, count)).ConfigureAwait(false);
                }

                count = 0;
                if (buffer.Length > InitialReceiveBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // After a close we requested, keep reading (and discarding) until the client's close frame arrives.
    private async Task DrainUntilClosedAsync(byte[] scratch)
    {
        while (_socket.State == WebSocketState.Open || _socket.State == WebSocketState.CloseSent)
        {
            var result = await _socket.ReceiveAsync(scratch.AsMemory(), _aborted.Token).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }
        }
    }
}
