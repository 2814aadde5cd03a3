using System.Buffers;
using System.Text.Json;

namespace Realtime.Bench.KestrelBroadcast;

/// <summary>The peers' JSON protocol: one forward pass over a client frame, and the frames the server writes.</summary>
internal readonly record struct Command(string? Type, string? Channel, long? Id, Range Data)
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = true };

    public static Command Parse(ReadOnlySpan<byte> frame)
    {
        var reader = new Utf8JsonReader(frame);
        string? type = null, channel = null;
        long? id = null;
        Range data = default;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8) && reader.Read())
                {
                    type = reader.GetString();
                }
                else if (reader.ValueTextEquals("channel"u8) && reader.Read())
                {
                    channel = reader.GetString();
                }
                else if (reader.ValueTextEquals("id"u8) && reader.Read())
                {
                    id = reader.GetInt64();
                }
                else if (reader.ValueTextEquals("data"u8) && reader.Read())
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    data = start..(int)reader.BytesConsumed;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return default;
        }

        return new Command(type, channel, id, data);
    }

    /// <summary><c>{"type":"message","channel":…,"data":…}</c>, written once per publish.</summary>
    public static byte[] Message(string channel, ReadOnlySpan<byte> data)
    {
        var buffer = new ArrayBufferWriter<byte>(data.Length + channel.Length + 48);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "message"u8);
            writer.WriteString("channel"u8, channel);
            writer.WritePropertyName("data"u8);
            writer.WriteRawValue(data, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Ack(long id) => System.Text.Encoding.UTF8.GetBytes($$"""{"id":{{id}}}""");
}
