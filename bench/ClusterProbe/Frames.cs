using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Realtime.Bench.ClusterProbe;

/// <summary>Reading and writing the protocol's frames (docs/protocol.md): one JSON object per text frame.</summary>
internal static class Frames
{
    public static Task SendAsync(ClientWebSocket socket, string json, CancellationToken ct) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, ct);

    /// <summary>Reads one whole frame into <paramref name="buffer"/>; false when the server closed the socket.</summary>
    public static async Task<bool> ReceiveAsync(ClientWebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken ct)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(4096), ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return true;
            }
        }
    }

    /// <summary>A reply's id and error code (null when it succeeded); id is null for a push.</summary>
    public static (long? Id, string? Error) Reply(ReadOnlySpan<byte> frame)
    {
        using var doc = JsonDocument.Parse(frame.ToArray());
        var root = doc.RootElement;
        long? id = root.TryGetProperty("id", out var i) ? i.GetInt64() : null;
        string? error = root.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;
        return (id, error);
    }

    /// <summary>The reason of an <c>unsubscribed</c> push (the server ended the subscription after a gap it could not fill).</summary>
    public static string? UnsubscribedReason(ReadOnlySpan<byte> frame)
    {
        if (frame.IndexOf("\"unsubscribed\""u8) < 0)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(frame.ToArray());
        var root = doc.RootElement;
        return root.TryGetProperty("type", out var type) && type.GetString() == "unsubscribed"
            ? root.GetProperty("reason").GetString() ?? ""
            : null;
    }

    /// <summary>
    /// The offset and the sender's timestamp (<c>data.t</c>) of a <c>message</c> push, read in one
    /// forward pass without allocating; false for any other frame.
    /// </summary>
    public static bool TryReadMessage(ReadOnlySpan<byte> frame, out long offset, out long sentAt)
    {
        var reader = new Utf8JsonReader(frame);
        bool isMessage = false;
        offset = sentAt = -1;
        reader.Read(); // {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                isMessage = reader.ValueTextEquals("message"u8);
            }
            else if (reader.ValueTextEquals("offset"u8))
            {
                reader.Read();
                offset = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                var depth = reader.CurrentDepth;
                while (reader.Read() && reader.CurrentDepth > depth)
                {
                    if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("t"u8))
                    {
                        reader.Read();
                        sentAt = reader.GetInt64();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return isMessage && offset >= 0 && sentAt >= 0;
    }
}
