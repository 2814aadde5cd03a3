using System.Buffers;
using System.Text.Json;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Users;

namespace Realtime.Contracts.Wire;

/// <summary>
/// Writes every frame the server sends (SPEC §6) straight to UTF-8 with <see cref="Utf8JsonWriter"/>.
/// A push such as <c>message</c> is built once per node and the same bytes go to every local subscriber.
/// </summary>
public static class ServerFrames
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public static byte[] Message(Publication p) => Write(p, static (w, p) => WriteMessage(w, p));

    public static byte[] Join(string channel, PresenceEntry e) => Write((channel, e, "join"), WritePresenceChange);

    public static byte[] Leave(string channel, PresenceEntry e) => Write((channel, e, "leave"), WritePresenceChange);

    public static byte[] Notification(InboxEntry e) => Write(e, static (w, e) =>
    {
        w.WriteString("type"u8, "notification"u8);
        WriteInboxFields(w, e, withRead: false);
    });

    public static byte[] Direct(string? from, byte[] data, DateTimeOffset ts) => Write((from, data, ts), static (w, s) =>
    {
        w.WriteString("type"u8, "direct"u8);
        w.WriteString("from"u8, s.from);
        w.WritePropertyName("data"u8);
        w.WriteRawValue(s.data, skipInputValidation: true);
        w.WriteString("ts"u8, s.ts.UtcDateTime);
    });

    public static byte[] Unsubscribed(string channel, string reason) => Write((channel, reason), static (w, s) =>
    {
        w.WriteString("type"u8, "unsubscribed"u8);
        w.WriteString("channel"u8, s.channel);
        w.WriteString("reason"u8, s.reason);
    });

    public static byte[] Disconnect(int code, string reason, bool reconnect) => Write((code, reason, reconnect), static (w, s) =>
    {
        w.WriteString("type"u8, "disconnect"u8);
        w.WriteNumber("code"u8, s.code);
        w.WriteString("reason"u8, s.reason);
        w.WriteBoolean("reconnect"u8, s.reconnect);
    });

    public static byte[] Error(long? id, string code, string message) => Write((id, code, message), static (w, s) =>
    {
        if (s.id is { } id)
        {
            w.WriteNumber("id"u8, id);
        }

        w.WriteStartObject("error"u8);
        w.WriteString("code"u8, s.code);
        w.WriteString("message"u8, s.message);
        w.WriteEndObject();
    });

    /// <summary>A reply <c>{"id":n,"result":{…}}</c>; the callback writes the result's properties.</summary>
    public static byte[] Result<TState>(long id, TState state, Action<Utf8JsonWriter, TState> writeResult) =>
        Write((id, state, writeResult), static (w, s) =>
        {
            w.WriteNumber("id"u8, s.id);
            w.WriteStartObject("result"u8);
            s.writeResult(w, s.state);
            w.WriteEndObject();
        });

    public static byte[] EmptyResult(long id) => Result(id, 0, static (_, _) => { });

    public static void WriteMessages(Utf8JsonWriter w, IReadOnlyList<Publication> messages)
    {
        w.WriteStartArray("messages"u8);
        foreach (var p in messages)
        {
            w.WriteStartObject();
            WriteMessage(w, p);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    public static void WritePresence(Utf8JsonWriter w, IReadOnlyList<PresenceEntry> entries)
    {
        w.WriteStartArray("clients"u8);
        foreach (var e in entries)
        {
            w.WriteStartObject();
            w.WriteString("client"u8, e.Client);
            w.WriteString("user"u8, e.User);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("users"u8, entries.Select(e => e.User).Distinct(StringComparer.Ordinal).Count());
    }

    public static void WriteInboxItems(Utf8JsonWriter w, IReadOnlyList<InboxEntry> items)
    {
        w.WriteStartArray("items"u8);
        foreach (var e in items)
        {
            w.WriteStartObject();
            WriteInboxFields(w, e, withRead: true);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteMessage(Utf8JsonWriter w, Publication p)
    {
        w.WriteString("type"u8, "message"u8);
        w.WriteString("channel"u8, p.Channel);
        w.WriteNumber("offset"u8, p.Offset);
        w.WriteString("epoch"u8, p.Epoch);
        w.WriteString("from"u8, p.From);
        w.WritePropertyName("data"u8);
        w.WriteRawValue(p.Data, skipInputValidation: true);
        w.WriteString("ts"u8, p.Timestamp.UtcDateTime);
    }

    private static void WritePresenceChange(Utf8JsonWriter w, (string channel, PresenceEntry e, string type) s)
    {
        w.WriteString("type"u8, s.type);
        w.WriteString("channel"u8, s.channel);
        w.WriteString("client"u8, s.e.Client);
        w.WriteString("user"u8, s.e.User);
    }

    private static void WriteInboxFields(Utf8JsonWriter w, InboxEntry e, bool withRead)
    {
        w.WriteString("id"u8, e.Id);
        w.WritePropertyName("data"u8);
        w.WriteRawValue(e.Data, skipInputValidation: true);
        w.WriteString("ts"u8, e.Timestamp.UtcDateTime);
        if (withRead)
        {
            w.WriteBoolean("read"u8, e.Read);
        }
    }

    private static byte[] Write<TState>(TState state, Action<Utf8JsonWriter, TState> body)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        body(writer, state);
        writer.WriteEndObject();
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null; // do not pin a large buffer to the thread after one big frame
            t_writer = null;
        }

        return bytes;
    }
}
