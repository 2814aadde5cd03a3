using System.Buffers;
using System.Text;
using System.Text.Json;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Users;

namespace Realtime.Silo.Engines.Postgres;

/// <summary>
/// Stream events as NOTIFY payloads: compact JSON with the event's data embedded raw. PostgreSQL
/// refuses payloads of 8000 bytes or more, so a larger event travels by reference: the payload
/// names the stored row (message, inbox entry or a spill row) and each node reads it from there.
/// </summary>
internal static class EventCodec
{
    /// <summary>Payloads longer than this (in UTF-8 bytes) go by reference; NOTIFY's limit is 8000.</summary>
    public const int MaxInlineBytes = 7800;

    public static string Encode(StreamEvent streamEvent) => Write(w =>
    {
        switch (streamEvent)
        {
            case PublicationEvent { Publication: var p }:
                w.WriteString("t", "p");
                w.WriteString("c", p.Channel);
                w.WriteNumber("o", p.Offset);
                w.WriteString("e", p.Epoch);
                w.WriteString("f", p.From);
                w.WriteNumber("ts", p.Timestamp.ToUnixTimeMilliseconds());
                WriteData(w, p.Data);
                break;
            case PresenceEvent e:
                w.WriteString("t", e.Joined ? "j" : "l");
                w.WriteString("c", e.Channel);
                w.WriteString("cl", e.Entry.Client);
                w.WriteString("u", e.Entry.User);
                w.WriteString("n", e.Entry.Node);
                break;
            case NotificationEvent { Entry: var n }:
                w.WriteString("t", "n");
                w.WriteString("u", n.User);
                w.WriteString("i", n.Id);
                w.WriteNumber("ts", n.Timestamp.ToUnixTimeMilliseconds());
                WriteData(w, n.Data);
                break;
            case DirectEvent d:
                w.WriteString("t", "d");
                w.WriteString("u", d.User);
                w.WriteString("f", d.From);
                w.WriteNumber("ts", d.Timestamp.ToUnixTimeMilliseconds());
                WriteData(w, d.Data);
                break;
            case DisconnectEvent x:
                w.WriteString("t", "x");
                w.WriteString("u", x.User);
                w.WriteString("r", x.Reason);
                break;
            default:
                throw new NotSupportedException($"no encoding for {streamEvent.GetType().Name}");
        }
    });

    /// <summary>
    /// A publication's payload before PostgreSQL has given it an offset and epoch: the payload is
    /// <c>Head + offset + ',"e":"' + epoch + Tail</c>, put together by the append statement itself
    /// (<see cref="AppendBatcher"/>), so the message and its NOTIFY go in one round trip. For a message too
    /// large to inline it is a reference (<c>"t":"pr"</c>) to the stored row instead, which carries the
    /// epoch too; <see cref="Decode"/> reads only the channel and offset of a reference.
    /// </summary>
    public static (string Head, string Tail) PublicationParts(string channel, string? from, DateTimeOffset timestamp, byte[] data)
    {
        var inline = (Head: WithoutEnd(Write(w => { w.WriteString("t", "p"); w.WriteString("c", channel); })) + ",\"o\":",
            Tail: "\"," + WithoutStart(Write(w =>
            {
                w.WriteString("f", from);
                w.WriteNumber("ts", timestamp.ToUnixTimeMilliseconds());
                WriteData(w, data);
            })));
        if (Encoding.UTF8.GetByteCount(inline.Head) + MaxFilledBytes + Encoding.UTF8.GetByteCount(inline.Tail) <= MaxInlineBytes)
        {
            return inline;
        }

        return (WithoutEnd(Write(w => { w.WriteString("t", "pr"); w.WriteString("c", channel); })) + ",\"o\":", "\"}");

        static string WithoutEnd(string json) => json[..^1];
        static string WithoutStart(string json) => json[1..];
    }

    /// <summary>The most the statement adds between the parts: an offset of up to 20 characters, <c>,"e":"</c>,
    /// and an epoch (8 characters; counted as 32).</summary>
    private const int MaxFilledBytes = 20 + 6 + 32;

    public static string NotificationReference(string user, string id) => Write(w =>
    {
        w.WriteString("t", "nr");
        w.WriteString("u", user);
        w.WriteString("i", id);
    });

    public static string SpillReference(StreamKey key, long id) => Write(w =>
    {
        w.WriteString("t", "r");
        w.WriteString("k", key.Kind == StreamKind.Channel ? "c" : "u");
        w.WriteString("s", key.Key);
        w.WriteNumber("id", id);
    });

    public static bool FitsInline(string payload) => Encoding.UTF8.GetByteCount(payload) <= MaxInlineBytes;

    /// <summary>Decodes a payload. References come back as <see cref="Reference"/> for the engine to resolve.</summary>
    public static object Decode(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        var type = root.GetProperty("t").GetString();
        return type switch
        {
            "p" => new PublicationEvent(new Publication(S(root, "c"), root.GetProperty("o").GetInt64(), S(root, "e"),
                N(root, "f"), Data(root), Ts(root))),
            "j" or "l" => new PresenceEvent(S(root, "c"), new PresenceEntry(S(root, "cl"), S(root, "u"), S(root, "n")), type == "j"),
            "n" => new NotificationEvent(new InboxEntry(S(root, "i"), S(root, "u"), Data(root), Ts(root), Read: false)),
            "d" => new DirectEvent(S(root, "u"), N(root, "f"), Data(root), Ts(root)),
            "x" => new DisconnectEvent(S(root, "u"), S(root, "r")),
            "pr" => new Reference(ReferenceKind.Message, StreamKey.ForChannel(S(root, "c")), root.GetProperty("o").GetInt64(), null),
            "nr" => new Reference(ReferenceKind.Notification, StreamKey.ForUser(S(root, "u")), 0, S(root, "i")),
            "r" => new Reference(ReferenceKind.Spill,
                S(root, "k") == "c" ? StreamKey.ForChannel(S(root, "s")) : StreamKey.ForUser(S(root, "s")), root.GetProperty("id").GetInt64(), null),
            _ => throw new FormatException($"unknown event type '{type}'"),
        };
    }

    public static StreamKey KeyOf(StreamEvent streamEvent) => streamEvent switch
    {
        PublicationEvent p => StreamKey.ForChannel(p.Publication.Channel),
        PresenceEvent e => StreamKey.ForChannel(e.Channel),
        NotificationEvent n => StreamKey.ForUser(n.Entry.User),
        DirectEvent d => StreamKey.ForUser(d.User),
        DisconnectEvent x => StreamKey.ForUser(x.User),
        _ => throw new NotSupportedException(streamEvent.GetType().Name),
    };

    private static void WriteData(Utf8JsonWriter w, byte[] data)
    {
        w.WritePropertyName("d");
        w.WriteRawValue(data, skipInputValidation: true);
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private static string? N(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;

    private static byte[] Data(JsonElement e) => Encoding.UTF8.GetBytes(e.GetProperty("d").GetRawText());

    private static DateTimeOffset Ts(JsonElement e) => DateTimeOffset.FromUnixTimeMilliseconds(e.GetProperty("ts").GetInt64());

    private static string Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public enum ReferenceKind
    {
        Message,
        Notification,
        Spill,
    }

    /// <summary>A payload that names a stored row instead of carrying the event. <see cref="Key"/> says
    /// whose stream it is, so a node with no local interest need not read the row at all.</summary>
    public sealed record Reference(ReferenceKind Kind, StreamKey Key, long Number, string? Id);
}
