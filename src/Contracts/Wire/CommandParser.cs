using System.Text.Json;

namespace Realtime.Contracts.Wire;

/// <summary>
/// Parses one client frame into a <see cref="ClientCommand"/> with a single forward pass of
/// <see cref="Utf8JsonReader"/>: no DOM, and <c>data</c> is sliced out of the frame as raw JSON.
/// Any input yields either a command or a <see cref="CommandParseError"/>; it never throws.
/// </summary>
public static class CommandParser
{
    private const int MaxIds = 1000;
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32 };

    public static bool TryParse(ReadOnlySpan<byte> frame, out ClientCommand? command, out CommandParseError? error)
    {
        command = null;
        var fields = new Fields();
        try
        {
            var reader = new Utf8JsonReader(frame, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = new CommandParseError(null, ErrorCodes.BadRequest, "a frame must be one JSON object");
                return false;
            }

            error = ReadFields(ref reader, frame, ref fields);
            if (error is null && reader.Read())
            {
                error = new CommandParseError(fields.Id, ErrorCodes.BadRequest, "unexpected data after the JSON object");
            }
        }
        catch (JsonException e)
        {
            error = new CommandParseError(fields.Id, ErrorCodes.BadRequest, $"malformed JSON at byte {e.BytePositionInLine}");
        }
        catch (InvalidOperationException)
        {
            // GetString throws this, not JsonException, for a string that is valid JSON but not text:
            // an unpaired surrogate escape such as "\ud800", or invalid UTF-8 inside the quotes.
            error = new CommandParseError(fields.Id, ErrorCodes.BadRequest, "a string is not valid text (an unpaired surrogate or invalid UTF-8)");
        }

        if (error is not null)
        {
            return false;
        }

        error = Build(fields, out command);
        return error is null;
    }

    // Skip() accepts a string that is valid JSON but no text once unescaped (a lone surrogate such as "\ud800"). Data
    // is passed on and stored as it is, and such a string would fail every reader after this one: each escaped string
    // and property name in it is decoded here, which throws InvalidOperationException for it (bad_request above).
    private static void SkipCheckingText(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        var nested = reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray;
        while (true)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                _ = reader.GetString();
            }

            if (!nested || (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth))
            {
                return;
            }

            if (!reader.Read())
            {
                throw new JsonException("the data value is not complete");
            }
        }
    }

    private static CommandParseError? ReadFields(ref Utf8JsonReader reader, ReadOnlySpan<byte> frame, ref Fields f)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            if (!reader.Read())
            {
                break;
            }

            var problem = ReadField(name, ref reader, frame, ref f);
            if (problem is not null)
            {
                return new CommandParseError(f.Id, ErrorCodes.BadRequest, problem);
            }
        }

        return reader.TokenType == JsonTokenType.EndObject
            ? null
            : new CommandParseError(f.Id, ErrorCodes.BadRequest, "malformed JSON object");
    }

    private static string? ReadField(ReadOnlySpan<byte> name, ref Utf8JsonReader reader, ReadOnlySpan<byte> frame, ref Fields f)
    {
        if (name.SequenceEqual("id"u8))
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var id))
            {
                return "'id' must be an integer";
            }

            f.Id = id;
        }
        else if (name.SequenceEqual("type"u8)) return ReadString(ref reader, "type", out f.Type);
        else if (name.SequenceEqual("channel"u8)) return ReadString(ref reader, "channel", out f.Channel);
        else if (name.SequenceEqual("token"u8)) return ReadString(ref reader, "token", out f.Token);
        else if (name.SequenceEqual("user"u8)) return ReadString(ref reader, "user", out f.User);
        else if (name.SequenceEqual("limit"u8)) return ReadInt(ref reader, "limit", out f.Limit);
        else if (name.SequenceEqual("before"u8))
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var before))
            {
                return "'before' must be an integer offset";
            }

            f.Before = before;
        }
        else if (name.SequenceEqual("unread"u8))
        {
            if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            {
                return "'unread' must be true or false";
            }

            f.Unread = reader.GetBoolean();
        }
        else if (name.SequenceEqual("data"u8))
        {
            var start = (int)reader.TokenStartIndex;
            SkipCheckingText(ref reader);
            f.Data = frame[start..(int)reader.BytesConsumed].ToArray();
        }
        else if (name.SequenceEqual("since"u8)) return ReadSince(ref reader, ref f);
        else if (name.SequenceEqual("ids"u8)) return ReadIds(ref reader, ref f);
        else
        {
            reader.Skip(); // unknown fields are ignored so clients can evolve ahead of servers
        }

        return null;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string field, out string? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return $"'{field}' must be a string";
        }

        value = reader.GetString();
        return null;
    }

    private static string? ReadInt(ref Utf8JsonReader reader, string field, out int? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var v))
        {
            return $"'{field}' must be an integer";
        }

        value = v;
        return null;
    }

    private static string? ReadSince(ref Utf8JsonReader reader, ref Fields f)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return "'since' must be an object {\"epoch\":\"…\",\"offset\":n}";
        }

        string? epoch = null;
        long? offset = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isEpoch = reader.ValueTextEquals("epoch"u8);
            var isOffset = reader.ValueTextEquals("offset"u8);
            reader.Read();
            if (isEpoch && reader.TokenType == JsonTokenType.String) epoch = reader.GetString();
            else if (isOffset && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var o) && o >= 0) offset = o;
            else if (isEpoch || isOffset) return "'since' needs a string 'epoch' and a non-negative integer 'offset'";
            else reader.Skip();
        }

        if (epoch is null || offset is null)
        {
            return "'since' needs both 'epoch' and 'offset'";
        }

        f.Since = new StreamPosition(epoch, offset.Value);
        return null;
    }

    private static string? ReadIds(ref Utf8JsonReader reader, ref Fields f)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return "'ids' must be an array of strings";
        }

        var ids = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String || ids.Count >= MaxIds)
            {
                return $"'ids' must be an array of at most {MaxIds} strings";
            }

            ids.Add(reader.GetString()!);
        }

        f.Ids = ids;
        return null;
    }

    private static CommandParseError? Build(in Fields f, out ClientCommand? command)
    {
        command = null;
        if (f.Id is not { } id)
        {
            return new CommandParseError(null, ErrorCodes.BadRequest, "missing integer 'id'");
        }

        if (f.Type is null)
        {
            return new CommandParseError(id, ErrorCodes.BadRequest, "missing 'type'");
        }

        if (!TryParseType(f.Type, out var type))
        {
            return new CommandParseError(id, ErrorCodes.BadRequest, $"unknown command type '{Truncate(f.Type)}'");
        }

        var missing = type switch
        {
            CommandType.Subscribe or CommandType.Unsubscribe or CommandType.History or CommandType.Presence
                when f.Channel is null => "channel",
            CommandType.Publish when f.Channel is null => "channel",
            CommandType.Publish or CommandType.Send when f.Data is null => "data",
            CommandType.Send when f.User is null => "user",
            CommandType.Read when f.Ids is null => "ids",
            _ => null,
        };
        if (missing is not null)
        {
            return new CommandParseError(id, ErrorCodes.BadRequest, $"'{type.ToString().ToLowerInvariant()}' needs '{missing}'");
        }

        if (f.Limit is < 0)
        {
            return new CommandParseError(id, ErrorCodes.BadRequest, "'limit' must not be negative");
        }

        command = new ClientCommand
        {
            Id = id, Type = type, Channel = f.Channel, Token = f.Token, User = f.User, Data = f.Data,
            Limit = f.Limit, Unread = f.Unread, Since = f.Since, Before = f.Before, Ids = f.Ids,
        };
        return null;
    }

    private static bool TryParseType(string value, out CommandType type)
    {
        (var ok, type) = value switch
        {
            "connect" => (true, CommandType.Connect),
            "subscribe" => (true, CommandType.Subscribe),
            "unsubscribe" => (true, CommandType.Unsubscribe),
            "publish" => (true, CommandType.Publish),
            "history" => (true, CommandType.History),
            "presence" => (true, CommandType.Presence),
            "send" => (true, CommandType.Send),
            "notifications" => (true, CommandType.Notifications),
            "read" => (true, CommandType.Read),
            "ping" => (true, CommandType.Ping),
            _ => (false, default),
        };
        return ok;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private struct Fields
    {
        public long? Id;
        public string? Type;
        public string? Channel;
        public string? Token;
        public string? User;
        public byte[]? Data;
        public int? Limit;
        public bool Unread;
        public StreamPosition? Since;
        public long? Before;
        public List<string>? Ids;
    }
}
