using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MessagePack;

namespace Realtime.Contracts.Wire;

/// <summary>
/// The <c>realtime.msgpack</c> subprotocol: every frame is the MessagePack encoding of the JSON frame the
/// <c>realtime.json</c> subprotocol would carry, with the same field names and meanings (docs/protocol.md). So the
/// server keeps one parser and one set of frames: a client's MessagePack frame is turned into JSON for
/// <see cref="CommandParser"/>, and a frame the server wrote as JSON is turned into MessagePack, once per front-end
/// process for a push (<see cref="PushFrame"/>). The values are JSON's: nil, booleans, integers, floats, strings,
/// arrays and maps with string keys. MessagePack's bin and ext types have no JSON equivalent and are refused.
/// MessagePack for C# reads and writes the encoding; this class only maps one tree onto the other.
/// </summary>
public static class MessagePackFrames
{
    /// <summary>As deep as <see cref="CommandParser"/> reads JSON.</summary>
    public const int MaxDepth = 32;

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Text stays as the publisher sent it (no \u escapes for non-ASCII): the JSON is only an intermediate form.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
        MaxDepth = MaxDepth + 1,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static List<int>? t_counts;

    /// <summary>The MessagePack form of a JSON value the server wrote (a frame, or a message's data).</summary>
    public static byte[] FromJson(ReadOnlySpan<byte> json)
    {
        // A MessagePack map or array states its length up front, so a first pass counts each container's members
        // in the order the containers open, and the second writes.
        var counts = t_counts ??= new List<int>(16);
        counts.Clear();
        Span<int> open = stackalloc int[MaxDepth * 4];
        var depth = 0;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth * 4 });
        while (reader.Read())
        {
            if (depth > 0 && reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.PropertyName))
            {
                counts[open[depth - 1]]++; // a value inside an array, or a property's value
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                open[depth++] = counts.Count;
                counts.Add(0);
            }
            else if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                depth--;
            }
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = new MessagePackWriter(buffer);
        var next = 0;
        reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth * 4 });
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    writer.WriteMapHeader(counts[next++]);
                    break;
                case JsonTokenType.StartArray:
                    writer.WriteArrayHeader(counts[next++]);
                    break;
                case JsonTokenType.PropertyName:
                case JsonTokenType.String:
                    WriteString(ref writer, ref reader);
                    break;
                case JsonTokenType.Number:
                    if (reader.TryGetInt64(out var integer))
                    {
                        writer.Write(integer);
                    }
                    else if (reader.TryGetUInt64(out var large))
                    {
                        writer.Write(large);
                    }
                    else
                    {
                        // A fraction, an exponent, or an integer past 64 bits: as a double, as JavaScript reads JSON
                        // (1e400 is infinity there too).
                        writer.Write(reader.TryGetDouble(out var number) ? number
                            : double.Parse(System.Text.Encoding.UTF8.GetString(reader.ValueSpan), System.Globalization.CultureInfo.InvariantCulture));
                    }

                    break;
                case JsonTokenType.True:
                    writer.Write(true);
                    break;
                case JsonTokenType.False:
                    writer.Write(false);
                    break;
                case JsonTokenType.Null:
                    writer.WriteNil();
                    break;
            }
        }

        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null; // do not pin a large buffer to the thread after one big frame
        }

        return bytes;
    }

    /// <summary>
    /// The JSON form of a client's MessagePack frame, for <see cref="CommandParser"/>; or the error to answer with
    /// (it carries the command's <c>id</c> when that was read before the problem). Never throws.
    /// </summary>
    public static bool TryToJson(ReadOnlyMemory<byte> frame, out byte[]? json, out CommandParseError? error)
    {
        json = null;
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, frame.Length * 2));
        using var writer = new Utf8JsonWriter(buffer, JsonOptions);
        var reader = new MessagePackReader(frame);
        long? id = null;
        try
        {
            if (reader.End || reader.NextMessagePackType != MessagePackType.Map)
            {
                error = new CommandParseError(null, ErrorCodes.BadRequest, "a frame must be one MessagePack map");
                return false;
            }

            var problem = CopyMap(ref reader, writer, depth: 1, ref id);
            if (problem is null && !reader.End)
            {
                problem = "unexpected data after the MessagePack map";
            }

            if (problem is not null)
            {
                error = new CommandParseError(id, ErrorCodes.BadRequest, problem);
                return false;
            }
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or ArgumentException)
        {
            // A truncated frame, a length past the end, a reserved type code, or a string that is not valid UTF-8.
            error = new CommandParseError(id, ErrorCodes.BadRequest, $"malformed MessagePack at byte {reader.Consumed}");
            return false;
        }

        writer.Flush();
        json = buffer.WrittenSpan.ToArray();
        error = null;
        return true;
    }

    private static string? CopyMap(ref MessagePackReader reader, Utf8JsonWriter writer, int depth, ref long? id)
    {
        var count = reader.ReadMapHeader();
        writer.WriteStartObject();
        for (var i = 0; i < count; i++)
        {
            if (reader.NextMessagePackType != MessagePackType.String)
            {
                return "map keys must be strings";
            }

            var key = ReadUtf8(ref reader);
            writer.WritePropertyName(key.Span);
            if (depth == 1 && key.Span.SequenceEqual("id"u8) && reader.NextMessagePackType == MessagePackType.Integer)
            {
                var copy = reader.CreatePeekReader();
                id = copy.NextCode == MessagePackCode.UInt64 ? null : copy.ReadInt64();
            }

            if (CopyValue(ref reader, writer, depth, ref id) is { } problem)
            {
                return problem;
            }
        }

        writer.WriteEndObject();
        return null;
    }

    private static string? CopyValue(ref MessagePackReader reader, Utf8JsonWriter writer, int depth, ref long? id)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                writer.WriteNullValue();
                return null;
            case MessagePackType.Boolean:
                writer.WriteBooleanValue(reader.ReadBoolean());
                return null;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    writer.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    writer.WriteNumberValue(reader.ReadInt64());
                }

                return null;
            case MessagePackType.Float:
                if (reader.NextCode == MessagePackCode.Float32)
                {
                    var single = reader.ReadSingle();
                    if (!float.IsFinite(single))
                    {
                        return "NaN and infinite floats have no JSON equivalent";
                    }

                    writer.WriteNumberValue(single);
                }
                else
                {
                    var number = reader.ReadDouble();
                    if (!double.IsFinite(number))
                    {
                        return "NaN and infinite floats have no JSON equivalent";
                    }

                    writer.WriteNumberValue(number);
                }

                return null;
            case MessagePackType.String:
                writer.WriteStringValue(ReadUtf8(ref reader).Span);
                return null;
            case MessagePackType.Array:
                if (depth >= MaxDepth)
                {
                    return $"nesting deeper than {MaxDepth}";
                }

                var length = reader.ReadArrayHeader();
                writer.WriteStartArray();
                for (var i = 0; i < length; i++)
                {
                    if (CopyValue(ref reader, writer, depth + 1, ref id) is { } problem)
                    {
                        return problem;
                    }
                }

                writer.WriteEndArray();
                return null;
            case MessagePackType.Map:
                return depth >= MaxDepth ? $"nesting deeper than {MaxDepth}" : CopyMap(ref reader, writer, depth + 1, ref id);
            case MessagePackType.Binary:
            case MessagePackType.Extension:
                return "MessagePack bin and ext values have no JSON equivalent; send text, numbers, booleans, nil, arrays and maps";
            default:
                return "an unknown MessagePack type";
        }
    }

    // A string's UTF-8 bytes, checked: Utf8JsonWriter would otherwise pass invalid sequences on.
    private static ReadOnlyMemory<byte> ReadUtf8(ref MessagePackReader reader)
    {
        var sequence = reader.ReadStringSequence() ?? default;
        var bytes = sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
        if (System.Text.Unicode.Utf8.IsValid(bytes.Span))
        {
            return bytes;
        }

        throw new ArgumentException("a string is not valid UTF-8");
    }

    private static void WriteString(ref MessagePackWriter writer, ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            writer.WriteString(reader.ValueSpan);
            return;
        }

        var target = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length); // unescaped text is never longer
        try
        {
            var written = reader.CopyString(target);
            writer.WriteString(target.AsSpan(0, written));
        }
        catch (InvalidOperationException)
        {
            // Valid JSON but no text (a lone surrogate escape), as a store may hold from before such data was refused:
            // written with U+FFFD in place of what cannot be text, rather than failing the push for every socket.
            writer.WriteString(Encoding.UTF8.GetBytes(Unescape(reader.ValueSpan)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(target);
        }
    }

    // JSON's escapes, leniently: an unpaired \uD800 becomes a lone UTF-16 unit, which the UTF-8 encoder replaces.
    private static string Unescape(ReadOnlySpan<byte> escaped)
    {
        var text = Encoding.UTF8.GetString(escaped);
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\' || i + 1 >= text.Length)
            {
                result.Append(text[i]);
                continue;
            }

            var next = text[++i];
            switch (next)
            {
                case 'b': result.Append('\b'); break;
                case 'f': result.Append('\f'); break;
                case 'n': result.Append('\n'); break;
                case 'r': result.Append('\r'); break;
                case 't': result.Append('\t'); break;
                case 'u' when i + 4 < text.Length && ushort.TryParse(text.AsSpan(i + 1, 4), System.Globalization.NumberStyles.HexNumber, null, out var unit):
                    result.Append((char)unit);
                    i += 4;
                    break;
                default: result.Append(next); break; // \" \\ \/
            }
        }

        return result.ToString();
    }
}
