using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Realtime.Api.Auth;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;

namespace Realtime.Api.Sessions;

/// <summary>
/// One socket. A reader loop parses and answers commands one at a time; a single writer drains a queue
/// bounded in bytes. Pushes from grains only append to that queue, so a client that does not read costs
/// the node at most <c>MaxQueueBytes</c> and is then closed with 4008; it never slows others.
/// An idle socket holds no receive buffer and no parked writer (SPEC §11: at most 12 KB per idle connection):
/// the reader waits with a zero-byte read and rents a buffer only when a frame arrives, and the writer runs
/// only while the queue has frames.
/// </summary>
internal sealed partial class Session : IThreadPoolWorkItem
{
    private const int MaxFramesWhileClosing = 100;
    private const int InitialReceiveBytes = 4 * 1024;

    private readonly WebSocket _socket;
    private readonly SessionRegistry _registry;
    private readonly Lock _queueLock = new();
    private Queue<byte[]>? _queue;
    private bool _writing;     // a writer run is draining the queue (at most one at a time)
    private bool _completed;   // no more frames are accepted; the writer closes once the queue is empty
    private TaskCompletionSource? _closed;
    private readonly Dictionary<string, ChannelSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _aborted = new();
    private readonly Action _abortConnection;
    private readonly CancellationToken _connectionClosed;
    private CancellationTokenRegistration _abortOnTimeout;
    private CommandRateLimiter _rate;
    private long _queuedBytes;
    private volatile bool _dropQueue;
    private int _closeRequested;
    private int _closeCode = CloseCodes.InternalError;
    private string _closeReason = "";
    private byte[]? _farewell;

    private readonly WireFormat _format;
    private readonly WebSocketMessageType _frameType;
    private readonly int _compressFrom;

    public Session(WebSocket socket, SessionRegistry registry, string clientId, Action abortConnection, CancellationToken connectionClosed,
        WireFormat format, int compressFrom)
    {
        _socket = socket;
        _format = format;
        _frameType = format == WireFormat.Json ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        _compressFrom = compressFrom;
        _abortConnection = abortConnection;
        _connectionClosed = connectionClosed;
        _registry = registry;
        ClientId = clientId;
        _rate = new CommandRateLimiter(registry.Limits.CommandsPerSecond, registry.Limits.CommandBurst);
        HandshakeDeadline = registry.Time.GetUtcNow() + registry.Limits.HandshakeTimeout;
    }

    public string ClientId { get; }

    public ClientIdentity? Identity { get; private set; }

    public DateTimeOffset ExpiresAt { get; private set; } = DateTimeOffset.MaxValue;

    public DateTimeOffset HandshakeDeadline { get; }

    public bool IsClosing => Volatile.Read(ref _closeRequested) != 0;

    public async Task RunAsync(string? queryToken)
    {
        try
        {
            if (queryToken is not null)
            {
                var token = queryToken;
                queryToken = null; // the state machine would keep the token for the socket's lifetime
                await AuthenticateAsync(token, replyTo: null).ConfigureAwait(false);
            }

            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            SessionsLog.SocketFailed(_registry.Logger, e, ClientId);
        }
        catch (Exception e)
        {
            // A bug, not the network: log it with the client and user it hit, end this session alone
            // with 1011 (the reason says nothing of the cause), and do not let it reach Kestrel.
            SessionsLog.SessionFailed(_registry.Logger, e, ClientId, Identity?.User);
            RequestClose(CloseCodes.InternalError, "internal error", dropQueue: true);
        }
        finally
        {
            RequestClose(_socket.CloseStatus is { } status ? (int)status : CloseCodes.InternalError, "socket ended", dropQueue: true);
            await LeaveEverythingAsync().ConfigureAwait(false);
            // Another thread may be inside RequestClose, between claiming the close and creating _closed.
            SpinWait.SpinUntil(() => Volatile.Read(ref _closed) is not null);
            await _closed!.Task.ConfigureAwait(false);

            // From here on the request ends and Kestrel may reuse its context: the close timeout must not fire into it.
            _abortOnTimeout.Dispose();

            // After a protocol error the framework has sent its close frame (1002, 1007) and marked the
            // socket Aborted, but Kestrel may not have flushed the frame yet: aborting again would tear the
            // connection down under it and the client would see a reset instead of the code. Returning
            // lets Kestrel flush and end the connection; only a socket still open is aborted.
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                _socket.Abort();
            }

            SessionsLog.Closed(_registry.Logger, ClientId, Identity?.User, _closeCode, _closeReason);
        }
    }

    /// <summary>Queues a frame written for this socket alone (a reply), as JSON: a MessagePack socket converts it here.</summary>
    public void Enqueue(byte[] json) => EnqueueEncoded(Encode(json));

    /// <summary>Queues a push that goes to many sockets, in this socket's format. Called from any thread; never blocks,
    /// never throws: a push this socket cannot take ends this session alone, not the fan-out to the others.</summary>
    public void Enqueue(PushFrame push)
    {
        byte[] frame;
        try
        {
            frame = push.In(_format);
        }
        catch (Exception e)
        {
            SessionsLog.SessionFailed(_registry.Logger, e, ClientId, Identity?.User);
            RequestClose(CloseCodes.InternalError, "internal error", dropQueue: true);
            return;
        }

        EnqueueEncoded(frame);
    }

    private byte[] Encode(byte[] json) => _format == WireFormat.Json ? json : MessagePackFrames.FromJson(json);

    private void EnqueueEncoded(byte[] frame)
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

        lock (_queueLock)
        {
            if (_completed)
            {
                Interlocked.Add(ref _queuedBytes, -frame.Length);
                return;
            }

            (_queue ??= new Queue<byte[]>()).Enqueue(frame);
            if (_writing)
            {
                return;
            }

            _writing = true;
        }

        // The writer runs as a thread-pool item (the session itself, so nothing is allocated), not on the
        // caller's thread: a grain's fan-out loop only queues, and under load each socket's writer finds
        // several frames waiting, which Kestrel sends in one system call. Writing inline cost a send per
        // frame per publish (docs/benchmarks.md, "Second round", has the before and after).
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

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

        // Sends carry no cancellation token (a cancellable send costs a registration and a slower path in
        // ManagedWebSocket for every frame); a client that does not finish the close within CloseTimeout has
        // its connection aborted, which fails whatever send or receive is still pending.
        _abortOnTimeout = _aborted.Token.UnsafeRegister(static s => ((Session)s!).Abort(), this);
        (_closeCode, _closeReason, _farewell) = (code, reason, farewell);
        if (dropQueue)
        {
            _dropQueue = true;
        }

        bool start;
        lock (_queueLock)
        {
            _closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _completed = true;
            start = !_writing;
            _writing = true;
        }

        _aborted.CancelAfter(_registry.Limits.CloseTimeout);
        if (start)
        {
            _ = WriteAsync();
        }
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

    // One run drains the queue and ends when it is empty; once the session is completed, the run that
    // finds the queue empty sends the farewell and the close frame. Enqueue and RequestClose start a run
    // when none is active, so frames go out in queue order from one writer at a time. The writer takes the
    // whole queue at once and sends it without the lock (handing the emptied queue back for the next frames),
    // so a busy socket costs one lock per batch, not one per frame.
    private async Task WriteAsync()
    {
        try
        {
            await DrainAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Socket errors are handled where they happen; anything else is a bug. The writer's task is not
            // awaited, so without this the session would stop sending and never finish closing: end the
            // connection instead, and leave the state as a finished run does.
            SessionsLog.WriterFailed(_registry.Logger, e, ClientId, Identity?.User);
            _dropQueue = true;
            _socket.Abort();
            bool completed;
            lock (_queueLock)
            {
                _writing = false;
                completed = _completed;
            }

            if (completed)
            {
                _closed!.TrySetResult();
            }
        }
    }

    private async Task DrainAsync()
    {
        Queue<byte[]>? drained = null;
        while (true)
        {
            Queue<byte[]>? batch = null;
            lock (_queueLock)
            {
                if (_queue is { Count: > 0 } queue)
                {
                    (batch, _queue) = (queue, drained);
                }
                else
                {
                    _queue ??= drained;
                    if (!_completed)
                    {
                        _writing = false;
                        return;
                    }
                }
            }

            if (batch is null)
            {
                await FinishAsync().ConfigureAwait(false);
                return;
            }

            await SendBatchAsync(batch).ConfigureAwait(false);
            drained = batch;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendBatchAsync(Queue<byte[]> batch)
    {
        var (bytes, sent) = (0L, 0);
        while (batch.TryDequeue(out var frame))
        {
            bytes += frame.Length;
            if (_dropQueue)
            {
                continue;
            }

            try
            {
                await _socket.SendAsync(frame.AsMemory(), _frameType, Flags(frame), CancellationToken.None).ConfigureAwait(false);
                sent++;
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                SendFailed(e);
            }
        }

        // Bytes count as queued until sent, so the slow-consumer bound covers the batch in flight too.
        Interlocked.Add(ref _queuedBytes, -bytes);
        _registry.Metrics.FramesOut(sent);
    }

    private async Task FinishAsync()
    {
        try
        {
            if (_farewell is { } farewell && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var frame = Encode(farewell);
                await _socket.SendAsync(frame, _frameType, Flags(frame), CancellationToken.None).ConfigureAwait(false);
                _registry.Metrics.FramesOut(1);
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            SendFailed(e);
        }
        finally
        {
            lock (_queueLock)
            {
                _queue = null;
            }

            _closed!.TrySetResult();
        }
    }

    private async Task ReadLoopAsync()
    {
        var limits = _registry.Limits;
        var framesWhileClosing = 0;
        while (true)
        {
            // Wait for the next frame without a buffer, so an idle socket holds none.
            var result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                EchoClose();
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
            try
            {
                var count = 0;
                while (!result.EndOfMessage)
                {
                    if (count == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 4, limits.MaxFrameBytes + 1));
                        buffer.AsSpan(0, count).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    var space = Math.Min(buffer.Length, limits.MaxFrameBytes + 1) - count;
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count, space), CancellationToken.None).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        EchoClose();
                        return;
                    }

                    count += result.Count;
                    if (count > limits.MaxFrameBytes)
                    {
                        RequestClose(CloseCodes.MessageTooBig, $"frame over {limits.MaxFrameBytes} bytes", dropQueue: true);
                        await DrainUntilClosedAsync(buffer).ConfigureAwait(false);
                        return;
                    }
                }

                _registry.Metrics.FrameIn();
                if (!IsClosing)
                {
                    await HandleFrameAsync(result.MessageType, buffer.AsMemory(0, count)).ConfigureAwait(false);
                }
                else if (++framesWhileClosing > MaxFramesWhileClosing)
                {
                    // Told to go (a flood closed with 4029, say) and still sending: it is not finishing the
                    // close handshake. Reading on would parse its frames at line rate until CloseTimeout;
                    // stop reading so TCP back-pressure, not this node's CPU, absorbs them, and let
                    // CloseTimeout drop the connection. The writer still sends the queue and the close frame.
                    // A connection that ends meanwhile (a reset or a FIN) is let go at once, if Kestrel's
                    // transport sees it: it reads on until its input buffer (1 MiB) is full, then waits too.
                    SessionsLog.NoLongerRead(_registry.Logger, ClientId, Identity?.User, MaxFramesWhileClosing);
                    using var released = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token, _connectionClosed);
                    await Task.Delay(Timeout.Infinite, released.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // With permessage-deflate agreed, frames under Realtime:Compression:MinBytes go as they are.
    private WebSocketMessageFlags Flags(byte[] frame) =>
        frame.Length < _compressFrom ? WebSocketMessageFlags.EndOfMessage | WebSocketMessageFlags.DisableCompression : WebSocketMessageFlags.EndOfMessage;

    void IThreadPoolWorkItem.Execute() => _ = WriteAsync();

    // CloseTimeout passed without the close handshake finishing.
    private void Abort()
    {
        SessionsLog.CloseTimedOut(_registry.Logger, ClientId, Identity?.User, _closeCode, _registry.Limits.CloseTimeout.TotalSeconds,
            Interlocked.Read(ref _queuedBytes), _socket.State);
        _abortConnection();
        _socket.Abort();
    }

    // A send failed: the connection broke (a reset, say; the transport also reports it to the reader, a parked one
    // included, through _connectionClosed), or CloseTimeout aborted it here, which 212 has logged. Aborting the socket
    // ends the reader loop too; what is queued is dropped.
    private void SendFailed(Exception e)
    {
        if (!_aborted.IsCancellationRequested)
        {
            SessionsLog.SendFailed(_registry.Logger, e, ClientId, Identity?.User, _socket.State);
        }

        _dropQueue = true;
        _socket.Abort();
    }

    // The client closed: echo its close code, then finish.
    private void EchoClose() =>
        RequestClose((int?)_socket.CloseStatus ?? CloseCodes.InternalError, _socket.CloseStatusDescription ?? "", dropQueue: true);

    // After a close we requested, keep reading (and discarding) until the client's close frame arrives.
    private async Task DrainUntilClosedAsync(byte[] scratch)
    {
        while (_socket.State == WebSocketState.Open || _socket.State == WebSocketState.CloseSent)
        {
            var result = await _socket.ReceiveAsync(scratch.AsMemory(), CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }
        }
    }
}
