using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Tests.Wire;

/// <summary>A command as a test writes it: the fields it sets, plus unknown fields and a field order.</summary>
public sealed record WrittenCommand(
    long Id,
    CommandType Type,
    string? Channel,
    string? Token,
    string? User,
    string? Data,
    int? Limit,
    bool? Unread,
    StreamPosition? Since,
    long? Before,
    IReadOnlyList<string>? Ids,
    IReadOnlyList<(string Name, string Json)> Unknown,
    int OrderSeed);

/// <summary>FsCheck generators for client frames: valid commands, JSON-ish soup and damaged frames.</summary>
public static class CommandGenerators
{
    private static readonly string[] Types =
        ["connect", "subscribe", "unsubscribe", "publish", "history", "presence", "send", "notifications", "read", "ping"];

    private static readonly string[] Fields =
        ["id", "type", "channel", "token", "user", "data", "limit", "unread", "since", "before", "ids", "epoch", "offset"];

    /// <summary>Characters that stress escaping: quotes, backslashes, controls, non-ASCII, and whole surrogate pairs.</summary>
    private static readonly Gen<string> Text = Gen.Frequency(
            (6, Gen.Elements("abcxyz:._@-0123456789".ToCharArray()).Select(c => c.ToString())),
            (1, Gen.Elements("\"", "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "é", "ß", "中", "😀", "\u2028", "<", "&", "'")))
        .ListOf()
        .Resize(40)
        .Select(parts => string.Concat(parts));

    private static readonly Gen<long> AnyLong = Gen.Frequency(
        (4, ArbMap.Default.GeneratorFor<long>()),
        (1, Gen.Elements(long.MinValue, long.MaxValue, 0L, -1L, int.MaxValue + 1L)));

    private static readonly Gen<string> Number = Gen.Elements(
        "0", "-0", "1", "-1", "42", "3.14", "-2.5e-3", "1E10", "1e400", "-1e-400", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999", "0.1", "123456789012345678901234567890");

    /// <summary>Any JSON value as compact text, nested a few levels.</summary>
    public static readonly Gen<string> JsonValue = Gen.Sized(size => Value(Math.Min(size, 30), depth: 0));

    public static readonly Gen<WrittenCommand> Valid =
        from id in AnyLong
        from type in Gen.Elements(Enum.GetValues<CommandType>())
        from channel in Optional(Text, required: type is CommandType.Subscribe or CommandType.Unsubscribe or CommandType.Publish
            or CommandType.History or CommandType.Presence)
        from token in Optional(Text, required: false)
        from user in Optional(Text, required: type is CommandType.Send)
        from data in Optional(JsonValue, required: type is CommandType.Publish or CommandType.Send)
        from limit in Gen.Frequency((3, Gen.Constant<int?>(null)), (1, Gen.Choose(0, int.MaxValue).Select(v => (int?)v)))
        from unread in Gen.Elements<bool?>(null, true, false)
        from since in Gen.Frequency((3, Gen.Constant<StreamPosition?>(null)),
            (1, Gen.Zip(Text, AnyLong.Select(o => o == long.MinValue ? 0 : Math.Abs(o))).Select(p => (StreamPosition?)new StreamPosition(p.Item1, p.Item2))))
        from before in Gen.Frequency((3, Gen.Constant<long?>(null)), (1, AnyLong.Select(v => (long?)v)))
        from ids in Gen.Frequency(
            (type == CommandType.Read ? 0 : 3, Gen.Constant<IReadOnlyList<string>?>(null)),
            (1, Text.ListOf().Resize(20).Select(l => (IReadOnlyList<string>?)l.ToList())))
        from unknown in Gen.Zip(Gen.Elements("trace", "x", "épsilon", "idx", "Type", "ID", "meta"), JsonValue).ListOf().Resize(4)
        from seed in Gen.Choose(0, int.MaxValue)
        select new WrittenCommand(id, type, channel, token, user, data, limit, unread, since, before, ids,
            unknown.Select(u => (u.Item1, u.Item2)).ToList(), seed);

    /// <summary>Tokens of JSON and near-JSON glued together: mostly wrong, sometimes right.</summary>
    public static readonly Gen<string> JsonIsh =
        Gen.Frequency(
                (8, Gen.Elements(
                    "{", "}", "[", "]", ":", ",", " ", "\n", "\"", "\\", "true", "false", "null", "tru", "nul", "/*c*/", "'x'",
                    "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"\\x\"", "\"é😀\"", "\"x\"", "\"\"",
                    "\"ping\"", "\"publish\"", "\"subscribe\"", "\"read\"", "\"connect\"", "\"chat:a\"")),
                (3, Gen.Elements(Fields).Select(f => $"\"{f}\"")),
                (2, Number),
                (1, JsonValue),
                (1, Text.Select(t => JsonSerializer.Serialize(t))))
            .ListOf()
            .Select(parts => string.Concat(parts))
            .SelectMany(body => Gen.Elements("", "{", "{\"id\":1,", "{\"id\":1,\"type\":\"ping\"", "{\"id\":1,\"type\":\"publish\",\"data\":")
                .Select(prefix => prefix + body));

    private static readonly Gen<(int Kind, int Where, int Value)> Edit =
        from kind in Gen.Choose(0, 4)
        from at in Gen.Choose(0, int.MaxValue)
        from value in Gen.Choose(0, 255)
        select (kind, at, value);

    /// <summary>A valid frame with one to three bytes changed, removed, added, or the end cut off.</summary>
    public static readonly Gen<byte[]> Damaged =
        from command in Valid
        let frame = Write(command)
        from edits in Edit.ListOf()
        select edits.Take(3).Aggregate(frame, (f, e) => Damage(f, e.Kind, e.Where, e.Value));

    /// <summary>Writes the frame by hand, fields in a shuffled order, strings escaped by System.Text.Json.</summary>
    public static byte[] Write(WrittenCommand c)
    {
        var members = new List<string>
        {
            $"\"id\":{c.Id}",
            $"\"type\":\"{c.Type.ToString().ToLowerInvariant()}\"",
        };
        AddString(members, "channel", c.Channel);
        AddString(members, "token", c.Token);
        AddString(members, "user", c.User);
        if (c.Data is not null) members.Add($"\"data\":{c.Data}");
        if (c.Limit is { } limit) members.Add($"\"limit\":{limit}");
        if (c.Unread is { } unread) members.Add($"\"unread\":{(unread ? "true" : "false")}");
        if (c.Since is { } since) members.Add($"\"since\":{{\"epoch\":{JsonSerializer.Serialize(since.Epoch)},\"offset\":{since.Offset}}}");
        if (c.Before is { } before) members.Add($"\"before\":{before}");
        if (c.Ids is { } ids) members.Add($"\"ids\":[{string.Join(",", ids.Select(i => JsonSerializer.Serialize(i)))}]");
        members.AddRange(c.Unknown.Select(u => $"{JsonSerializer.Serialize(u.Name)}:{u.Json}"));

        var random = new Random(c.OrderSeed);
        return Encoding.UTF8.GetBytes("{" + string.Join(",", members.OrderBy(_ => random.Next())) + "}");
    }

    private static void AddString(List<string> members, string name, string? value)
    {
        if (value is not null)
        {
            members.Add($"\"{name}\":{JsonSerializer.Serialize(value)}");
        }
    }

    private static Gen<string?> Optional(Gen<string> gen, bool required) =>
        required ? gen.Select(v => (string?)v) : Gen.Frequency((2, Gen.Constant<string?>(null)), (1, gen.Select(v => (string?)v)));

    private static Gen<string> Value(int size, int depth)
    {
        var scalar = Gen.OneOf(
            Gen.Elements("null", "true", "false"),
            Number,
            Text.Select(t => JsonSerializer.Serialize(t)));
        if (depth >= 5 || size <= 1)
        {
            return scalar;
        }

        var child = Gen.Sized(s => Value(s / 3, depth + 1));
        return Gen.Frequency(
            (3, scalar),
            (1, child.ListOf().Select(items => "[" + string.Join(",", items.Take(8)) + "]")),
            (1, Gen.Zip(Text, child).ListOf().Select(members =>
                "{" + string.Join(",", members.Take(8).Select(m => $"{JsonSerializer.Serialize(m.Item1)}:{m.Item2}")) + "}")));
    }

    private static byte[] Damage(byte[] frame, int kind, int where, int value)
    {
        if (frame.Length == 0)
        {
            return [(byte)value];
        }

        var at = where % frame.Length;
        return kind switch
        {
            0 => frame[..at],                                            // cut short
            1 => [.. frame[..at], .. frame[(at + 1)..]],                 // a byte lost
            2 => [.. frame[..at], (byte)value, .. frame[at..]],          // a byte added
            3 => [.. frame[..at], (byte)value, .. frame[(at + 1)..]],    // a byte changed
            _ => [.. frame[..at], .. frame[at..], .. frame[at..]],       // a tail repeated
        };
    }
}
