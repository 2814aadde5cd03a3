using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// A real <see cref="ClientWebSocket"/> speaking the protocol: commands get ids and are matched to
/// their replies; pushes queue up in arrival order; every frame is also kept in <see cref="Frames"/>.
/// Reading can be paused to play a client that stops reading.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly Channel<JsonElement> _pushes = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile TaskCompletionSource? _paused;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private long _nextId;
    private Task? _loop;

    private readonly bool _messagePack;

    private TestClient(ClientWebSocket socket) => (_socket, _messagePack) = (socket, socket.SubProtocol == "realtime.msgpack");

    public ConcurrentQueue<JsonElement> Frames { get; } = new();

    public ClientWebSocket Socket => _socket;

    public Task<WebSocketCloseStatus?> Closed => _closed.Task;

    /// <summary>Connects with <c>?token=</c> and waits for nothing: the query token authenticates at once.</summary>
    public static Task<TestClient> ConnectAsync(RealtimeServer server, string? token, string? origin = null, int? receiveBufferBytes = null,
        string? subprotocol = null, bool deflate = false) =>
        OpenAsync(token is null ? server.WebSocketUri : new Uri($"{server.WebSocketUri}?token={token}"), origin, receiveBufferBytes, subprotocol, deflate);

    /// <summary>Opens a socket. With <paramref name="subprotocol"/> <c>realtime.msgpack</c> the client speaks MessagePack: it
    /// encodes with MessagePack for C#'s own JSON conversion and decodes with its reader, not the server's conversion,
    /// so both sides are checked against the library. With <paramref name="deflate"/> it offers permessage-deflate.</summary>
    public static async Task<TestClient> OpenAsync(Uri uri, string? origin = null, int? receiveBufferBytes = null, string? subprotocol = null, bool deflate = false)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.CollectHttpResponseDetails = true;
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        if (deflate)
        {
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                if (receiveBufferBytes is { } size)
                {
                    s.ReceiveBufferSize = size;
                }

                await s.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        };
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(uri, new HttpMessageInvoker(handler, disposeHandler: false), cts.Token);
        var client = new TestClient(socket);
        client._loop = client.ReceiveLoopAsync();
        return client;
    }

    /// <summary>Sends a command (an id is added) and returns the whole reply frame.</summary>
    public async Task<JsonElement> RequestAsync(object command)
    {
        var id = Interlocked.Increment(ref _nextId);
        var json = JsonSerializer.SerializeToNode(command)!.AsObject();
        json["id"] = id;
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        await SendTextAsync(json.ToJsonString());
        return await reply.Task.WaitAsync(Timeout);
    }

    /// <summary>Sends a command and returns its <c>result</c>; fails the test on an error reply.</summary>
    public async Task<JsonElement> CallAsync(object command)
    {
        var reply = await RequestAsync(command);
        Assert.True(reply.TryGetProperty("result", out var result), $"expected a result, got {reply}");
        return result;
    }

    /// <summary>Sends a command and returns the error code of its reply; fails the test on success.</summary>
    public async Task<string> ErrorAsync(object command)
    {
        var reply = await RequestAsync(command);
        Assert.True(reply.TryGetProperty("error", out var error), $"expected an error, got {reply}");
        return error.GetProperty("code").GetString()!;
    }

    /// <summary>Sends a command written as JSON: as a text frame, or as a binary MessagePack frame on <c>realtime.msgpack</c>.</summary>
    public async Task SendTextAsync(string text)
    {
        if (_messagePack)
        {
            await SendAsync(MessagePack.MessagePackSerializer.ConvertFromJson(text), WebSocketMessageType.Binary);
        }
        else
        {
            await SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);
        }
    }

    /// <summary>How many frames of each kind arrived.</summary>
    public int TextFrames => _textFrames;

    public int BinaryFrames => _binaryFrames;

    private int _textFrames, _binaryFrames;

    public async Task SendAsync(byte[] bytes, WebSocketMessageType type, bool endOfMessage = true)
    {
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, type, endOfMessage, CancellationToken.None);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>The next push (a frame without an id), skipping those whose type is not <paramref name="type"/>.</summary>
    public async Task<JsonElement> NextPushAsync(string? type = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            var push = await _pushes.Reader.ReadAsync(cts.Token);
            if (type is null || push.GetProperty("type").GetString() == type)
            {
                return push;
            }
        }
    }

    /// <summary>Collects <paramref name="count"/> message pushes.</summary>
    public async Task<List<JsonElement>> MessagesAsync(int count, TimeSpan? timeout = null)
    {
        var messages = new List<JsonElement>();
        while (messages.Count < count)
        {
            messages.Add(await NextPushAsync("message", timeout ?? Timeout));
        }

        return messages;
    }

    /// <summary>True if no push of <paramref name="type"/> arrives within <paramref name="quiet"/>.</summary>
    public async Task<bool> NoPushAsync(string type, TimeSpan quiet)
    {
        try
        {
            await NextPushAsync(type, quiet);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async Task<WebSocketCloseStatus?> WaitClosedAsync(TimeSpan? timeout = null) => await _closed.Task.WaitAsync(timeout ?? Timeout);

    /// <summary>Stops taking frames off the socket after the one in flight, so the server's sends back up.</summary>
    public Task PauseReadingAsync()
    {
        _paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return Task.CompletedTask;
    }

    public void ResumeReading() => Interlocked.Exchange(ref _paused, null)?.TrySetResult();

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (true)
            {
                if (_paused is { } paused)
                {
                    await paused.Task;
                }

                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(_socket.CloseStatus);
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                Interlocked.Increment(ref result.MessageType == WebSocketMessageType.Binary ? ref _binaryFrames : ref _textFrames);
                var frame = (result.MessageType == WebSocketMessageType.Binary
                    ? JsonDocument.Parse(MessagePackToJson(message.ToArray()))
                    : JsonDocument.Parse(message.ToArray())).RootElement.Clone();
                message.SetLength(0);
                Frames.Enqueue(frame);
                if (!frame.TryGetProperty("type", out _) && frame.TryGetProperty("id", out var id)
                    && id.ValueKind == JsonValueKind.Number && _pending.TryRemove(id.GetInt64(), out var waiter))
                {
                    waiter.TrySetResult(frame);
                }
                else
                {
                    _pushes.Writer.TryWrite(frame);
                }
            }
        }
        catch (Exception)
        {
            _closed.TrySetResult(null); // aborted without a close frame
        }
        finally
        {
            _pushes.Writer.TryComplete();
            foreach (var waiter in _pending.Values)
            {
                waiter.TrySetException(new WebSocketException("the socket closed before the reply"));
            }
        }
    }

    // MessagePack for C#'s ConvertToJson writes control characters in strings as they are, which is not JSON (the
    // dispatcher fuzzing found it with a key holding U+001F); this reads the frame with its MessagePackReader and
    // writes it with Utf8JsonWriter, which escapes. The server's own conversion is not used, so it is still checked.
    private static byte[] MessagePackToJson(byte[] frame)
    {
        var reader = new MessagePack.MessagePackReader(frame);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Copy(ref reader, writer);
        }

        if (!reader.End)
        {
            throw new FormatException("bytes after the MessagePack value");
        }

        return buffer.WrittenSpan.ToArray();

        static void Copy(ref MessagePack.MessagePackReader reader, Utf8JsonWriter writer)
        {
            switch (reader.NextMessagePackType)
            {
                case MessagePack.MessagePackType.Map:
                    writer.WriteStartObject();
                    for (var count = reader.ReadMapHeader(); count > 0; count--)
                    {
                        writer.WritePropertyName(reader.ReadString()!);
                        Copy(ref reader, writer);
                    }

                    writer.WriteEndObject();
                    break;
                case MessagePack.MessagePackType.Array:
                    writer.WriteStartArray();
                    for (var count = reader.ReadArrayHeader(); count > 0; count--)
                    {
                        Copy(ref reader, writer);
                    }

                    writer.WriteEndArray();
                    break;
                case MessagePack.MessagePackType.String:
                    writer.WriteStringValue(reader.ReadString());
                    break;
                case MessagePack.MessagePackType.Integer when reader.NextCode == MessagePack.MessagePackCode.UInt64:
                    writer.WriteNumberValue(reader.ReadUInt64());
                    break;
                case MessagePack.MessagePackType.Integer:
                    writer.WriteNumberValue(reader.ReadInt64());
                    break;
                case MessagePack.MessagePackType.Float:
                    writer.WriteNumberValue(reader.ReadDouble());
                    break;
                case MessagePack.MessagePackType.Boolean:
                    writer.WriteBooleanValue(reader.ReadBoolean());
                    break;
                case MessagePack.MessagePackType.Nil:
                    reader.ReadNil();
                    writer.WriteNullValue();
                    break;
                default:
                    throw new FormatException($"the server sent a MessagePack {reader.NextMessagePackType}, which the protocol never uses");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                await (_loop ?? Task.CompletedTask).WaitAsync(cts.Token);
            }
            catch (Exception)
            {
                // the test is over; an unclean close is fine here
            }
        }

        _socket.Dispose();
    }
}
