using System.Buffers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MessagePack;
using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Tests.Wire;

/// <summary>
/// Properties of <see cref="MessagePackFrames"/>, which reads a <c>realtime.msgpack</c> client's bytes before the
/// command parser does: whatever arrives, it answers with JSON or a bad_request error and never throws; a command
/// written as MessagePack parses as the same command written as JSON; and a value keeps its meaning from JSON to
/// MessagePack and back.
/// </summary>
public sealed class MessagePackFramesProperties
{
    private const int Runs = 2000;
    private const int Size = 100;

    // Numbers a double cannot hold exactly change on the way through MessagePack (docs/protocol.md says so).
    private static readonly string[] Inexact = ["e400", "e-400", "99999999999999999999", "123456789012345678901234567890"];

    private static readonly Gen<(int Kind, int Where, int Value)> Edit =
        from kind in Gen.Choose(0, 3)
        from at in Gen.Choose(0, int.MaxValue)
        from value in Gen.Choose(0, 255)
        select (kind, at, value);

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Any_bytes_give_json_or_an_error_and_never_an_exception() =>
        Prop.ForAll(ArbMap.Default.GeneratorFor<byte[]>().ToArbitrary(), frame => AnswersWithoutThrowing(frame));

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Valid_commands_damaged_anywhere_give_json_or_an_error_and_never_an_exception()
    {
        var damaged =
            from command in CommandGenerators.Valid
            let frame = MessagePackFrames.FromJson(CommandGenerators.Write(command))
            from edits in Edit.ListOf()
            select edits.Take(3).Aggregate(frame, (f, e) => Damage(f, e.Kind, e.Where, e.Value));
        return Prop.ForAll(damaged.ToArbitrary(), frame => AnswersWithoutThrowing(frame));
    }

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property A_command_written_as_MessagePack_parses_as_the_same_command_written_as_JSON()
    {
        var commands = CommandGenerators.Valid
            .Where(c => !Inexact.Any(Encoding.UTF8.GetString(CommandGenerators.Write(c)).Contains))
            .ToArbitrary();
        return Prop.ForAll(commands, written =>
        {
            var json = CommandGenerators.Write(written);
            Assert.True(CommandParser.TryParse(json, out var expected, out _));
            Assert.True(MessagePackFrames.TryToJson(MessagePackFrames.FromJson(json), out var converted, out var error), error?.Message);
            Assert.True(CommandParser.TryParse(converted, out var actual, out var parseError), parseError?.Message);

            Assert.Equal((expected!.Id, expected.Type, expected.Channel, expected.Token, expected.User), (actual!.Id, actual.Type, actual.Channel, actual.Token, actual.User));
            Assert.Equal((expected.Limit, expected.Unread, expected.Since, expected.Before), (actual.Limit, actual.Unread, actual.Since, actual.Before));
            Assert.Equal(expected.Ids, actual.Ids);
            Assert.Equal(expected.Data is null, actual.Data is null);
            if (expected.Data is not null)
            {
                Assert.True(SameJson(expected.Data, actual.Data!), $"{Encoding.UTF8.GetString(expected.Data)} became {Encoding.UTF8.GetString(actual.Data!)}");
            }
        });
    }

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property A_json_value_keeps_its_meaning_through_MessagePack()
    {
        var values = CommandGenerators.JsonValue.Where(v => !Inexact.Any(v.Contains)).ToArbitrary();
        return Prop.ForAll(values, value =>
        {
            var frame = Encoding.UTF8.GetBytes($$"""{"data":{{value}}}""");
            Assert.True(MessagePackFrames.TryToJson(MessagePackFrames.FromJson(frame), out var back, out var error), error?.Message);
            Assert.True(SameJson(frame, back!), $"{value} became {Encoding.UTF8.GetString(back!)}");
        });
    }

    [Fact]
    public void Values_without_a_json_equivalent_are_bad_request_with_the_id()
    {
        foreach (var (value, problem) in new (Write, string)[]
        {
            ((ref MessagePackWriter w) => w.Write(new byte[] { 1, 2 }), "bin and ext"),
            ((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 1 })), "bin and ext"),
            ((ref MessagePackWriter w) => w.Write(DateTime.UtcNow), "bin and ext"), // the timestamp extension
            ((ref MessagePackWriter w) => w.Write(double.NaN), "NaN and infinite"),
            ((ref MessagePackWriter w) => w.Write(float.PositiveInfinity), "NaN and infinite"),
            ((ref MessagePackWriter w) => { w.WriteMapHeader(1); w.Write(1); w.Write(2); }, "map keys must be strings"),
        })
        {
            var frame = Map((ref MessagePackWriter w) =>
            {
                w.WriteMapHeader(3);
                w.Write("id");
                w.Write(7);
                w.Write("type");
                w.Write("publish");
                w.Write("data");
                value(ref w);
            });

            Assert.False(MessagePackFrames.TryToJson(frame, out _, out var error));
            Assert.Equal((7L, ErrorCodes.BadRequest), (error!.Id, error.Code));
            Assert.Contains(problem, error.Message);
        }
    }

    [Fact]
    public void A_frame_that_is_not_one_whole_map_is_bad_request()
    {
        var whole = Map((ref MessagePackWriter w) => { w.WriteMapHeader(2); w.Write("id"); w.Write(3); w.Write("type"); w.Write("ping"); });

        Assert.Equal("a frame must be one MessagePack map", Error(Map((ref MessagePackWriter w) => w.Write("ping"))).Message);
        Assert.Equal("a frame must be one MessagePack map", Error([]).Message);
        Assert.Equal("unexpected data after the MessagePack map", Error([.. whole, 0xc0]).Message);
        var truncated = Error(whole[..^2]);
        Assert.StartsWith("malformed MessagePack", truncated.Message);
        Assert.Equal(3, truncated.Id);
        Assert.StartsWith("malformed MessagePack", Error([0x81, 0xa2, 0xc3, 0x28, 0x01]).Message); // a key that is not UTF-8
        Assert.StartsWith("malformed MessagePack", Error([0xdf, 0xff, 0xff, 0xff, 0xff]).Message); // claims 4 billion pairs
    }

    [Fact]
    public void Nesting_is_limited_as_in_json()
    {
        byte[] Nested(int depth) => Map((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("data");
            for (var i = 1; i < depth; i++)
            {
                w.WriteArrayHeader(1);
            }

            w.WriteNil();
        });

        Assert.True(MessagePackFrames.TryToJson(Nested(MessagePackFrames.MaxDepth), out _, out _));
        Assert.Equal($"nesting deeper than {MessagePackFrames.MaxDepth}", Error(Nested(MessagePackFrames.MaxDepth + 1)).Message);
        Assert.Equal($"nesting deeper than {MessagePackFrames.MaxDepth}", Error(Nested(100_000)).Message);
    }

    [Fact]
    public void Server_frames_become_maps_with_the_same_fields()
    {
        var push = ServerFrames.Direct("bob", Encoding.UTF8.GetBytes("""{"text":"h\u00e9 \"x\"","n":[1,-2,3.5,18446744073709551615],"ok":true,"none":null}"""),
            new DateTimeOffset(2026, 12, 2, 8, 0, 0, TimeSpan.Zero));

        var reader = new MessagePackReader(MessagePackFrames.FromJson(push));
        var map = ReadMap(ref reader);

        Assert.Equal("direct", map["type"]);
        Assert.Equal("bob", map["from"]);
        Assert.Equal("2026-12-02T08:00:00Z", map["ts"]);
        var data = (Dictionary<string, object?>)map["data"]!;
        Assert.Equal("hé \"x\"", data["text"]);
        Assert.Equal(new object[] { 1L, -2L, 3.5, ulong.MaxValue }, (object?[])data["n"]!);
        Assert.Equal(true, data["ok"]);
        Assert.Null(data["none"]);
        Assert.True(reader.End);
    }

    [Fact]
    public void A_lone_surrogate_a_store_may_hold_becomes_a_replacement_character_not_an_exception()
    {
        var frame = Encoding.UTF8.GetBytes("""{"type":"message","data":{"a":"x\ud800y","b\udc00":"\u00e9\n\"q\""}}""");

        var reader = new MessagePackReader(MessagePackFrames.FromJson(frame));
        var data = (Dictionary<string, object?>)ReadMap(ref reader)["data"]!;

        Assert.Equal("x\uFFFDy", data["a"]);
        Assert.Equal("\u00e9\n\"q\"", data["b\uFFFD"]);
    }

    private static Dictionary<string, object?> ReadMap(ref MessagePackReader reader)
    {
        var map = new Dictionary<string, object?>();
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            map[reader.ReadString()!] = ReadValue(ref reader);
        }

        return map;
    }

    private static object? ReadValue(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                return ReadMap(ref reader);
            case MessagePackType.Array:
                var items = new object?[reader.ReadArrayHeader()];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = ReadValue(ref reader);
                }

                return items;
            case MessagePackType.Integer:
                return reader.NextCode == MessagePackCode.UInt64 ? reader.ReadUInt64() : reader.ReadInt64();
            case MessagePackType.Float:
                return reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            default:
                reader.ReadNil();
                return null;
        }
    }

    private static CommandParseError Error(byte[] frame)
    {
        Assert.False(MessagePackFrames.TryToJson(frame, out _, out var error));
        return error!;
    }

    // MessagePackWriter is a struct: a lambda must take it by reference, or it writes into a copy.
    private delegate void Write(ref MessagePackWriter writer);

    private static byte[] Map(Write write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static bool SameJson(byte[] a, byte[] b)
    {
        using var left = JsonDocument.Parse(a);
        using var right = JsonDocument.Parse(b);
        return JsonElement.DeepEquals(left.RootElement, right.RootElement);
    }

    private static bool AnswersWithoutThrowing(byte[] frame)
    {
        if (!MessagePackFrames.TryToJson(frame, out var json, out var error))
        {
            return json is null && error is { Code: ErrorCodes.BadRequest, Message.Length: > 0 };
        }

        using var parsed = JsonDocument.Parse(json!); // what it gives is JSON the command parser can read
        return error is null && parsed.RootElement.ValueKind == JsonValueKind.Object;
    }

    private static byte[] Damage(byte[] frame, int kind, int where, int value)
    {
        if (frame.Length == 0)
        {
            return frame;
        }

        var at = where % frame.Length;
        return kind switch
        {
            0 => [.. frame[..at], (byte)value, .. frame[(at + 1)..]],
            1 => [.. frame[..at], .. frame[(at + 1)..]],
            2 => [.. frame[..at], (byte)value, .. frame[at..]],
            _ => frame[..at],
        };
    }
}
