using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Realtime.Contracts.Wire;

namespace Realtime.Contracts.Tests.Wire;

/// <summary>
/// Properties of <see cref="CommandParser"/>, the first code that touches a client's bytes: whatever
/// arrives, it answers with a command or a <see cref="CommandParseError"/> and never throws; and a
/// valid command survives being written and read back.
/// </summary>
public sealed class CommandParserProperties
{
    // Many cheap runs with large inputs: the parser is pure and fast, and its bugs hide in long frames.
    private const int Runs = 2000;
    private const int Size = 100;

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Any_bytes_give_a_command_or_an_error_and_never_an_exception()
    {
        var bytes = Gen.Frequency(
                (3, ArbMap.Default.GeneratorFor<byte[]>()),
                (1, Gen.Elements(Encoding.UTF8.GetBytes("{}\"[]:,\\u0123456789.eE+-tfn id type")).ArrayOf()))
            .ToArbitrary();

        return Prop.ForAll(bytes, frame => AnswersWithoutThrowing(frame));
    }

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Json_ish_input_gives_a_command_or_an_error_and_never_an_exception() =>
        Prop.ForAll(CommandGenerators.JsonIsh.ToArbitrary(), text => AnswersWithoutThrowing(Encoding.UTF8.GetBytes(text)));

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Valid_commands_damaged_anywhere_give_a_command_or_an_error_and_never_an_exception() =>
        Prop.ForAll(CommandGenerators.Damaged.ToArbitrary(), frame => AnswersWithoutThrowing(frame));

    [Fact]
    public void A_lone_surrogate_escape_in_any_string_field_is_bad_request_not_an_exception()
    {
        // Valid UTF-8 and valid JSON, but not a valid UTF-16 string once unescaped: reachable over a socket.
        foreach (var field in new[] { "type", "channel", "token", "user" })
        {
            foreach (var escape in new[] { @"\ud800", @"\udc00x", @"\ud83dA" })
            {
                var frame = Encoding.UTF8.GetBytes($$"""{"id":9,"type":"publish","channel":"chat:a","data":1,"{{field}}":"{{escape}}"}""");
                Assert.True(AnswersWithoutThrowing(frame));
                Assert.False(CommandParser.TryParse(frame, out _, out var error));
                Assert.Equal(ErrorCodes.BadRequest, error!.Code);
                Assert.Equal(9, error.Id);
            }
        }

        var ids = Encoding.UTF8.GetBytes("""{"id":9,"type":"read","ids":["\udfff"]}""");
        Assert.False(CommandParser.TryParse(ids, out _, out var idsError));
        Assert.Equal(9, idsError!.Id);

        // In data too, at any depth and in property names: data is passed on as it is, and no reader after this one could take it.
        foreach (var data in new[] { "\"\\ud800\"", """{"k":["ok","\udc00"]}""", """{"\ud800":1}""", """[[{"a":{"b":"\ud83dx"}}]]""" })
        {
            var frame = Encoding.UTF8.GetBytes($$"""{"id":9,"type":"publish","channel":"chat:a","data":{{data}}}""");
            Assert.False(CommandParser.TryParse(frame, out _, out var dataError), data);
            Assert.Equal((9L, ErrorCodes.BadRequest), (dataError!.Id, dataError.Code));
        }

        // Escapes that are text stay accepted, byte for byte.
        var fine = Encoding.UTF8.GetBytes("""{"id":9,"type":"publish","channel":"chat:a","data":{"\u00e9":["\ud83d\ude00","\n"]}}""");
        Assert.True(CommandParser.TryParse(fine, out var command, out _));
        Assert.Equal("""{"\u00e9":["\ud83d\ude00","\n"]}""", Encoding.UTF8.GetString(command!.Data!));
    }

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property Valid_commands_round_trip_through_the_parser() =>
        Prop.ForAll(CommandGenerators.Valid.ToArbitrary(), written =>
        {
            var frame = CommandGenerators.Write(written);
            var parsed = CommandParser.TryParse(frame, out var command, out var error);
            Assert.True(parsed, $"{Encoding.UTF8.GetString(frame)} → {error}");
            AssertSame(written, command!);
        });

    [Property(MaxTest = Runs, EndSize = Size)]
    public Property An_error_after_a_leading_id_carries_that_id()
    {
        var tails = Gen.Zip(ArbMap.Default.GeneratorFor<long>(), CommandGenerators.JsonIsh)
            .Where(t => !t.Item2.Contains("\"id\"", StringComparison.Ordinal))
            .ToArbitrary();

        return Prop.ForAll(tails, t =>
        {
            var frame = Encoding.UTF8.GetBytes($$"""{"id":{{t.Item1}},{{t.Item2}}""");
            return CommandParser.TryParse(frame, out var command, out var error) ? command!.Id == t.Item1 : error!.Id == t.Item1;
        });
    }

    private static bool AnswersWithoutThrowing(byte[] frame)
    {
        var parsed = CommandParser.TryParse(frame, out var command, out var error);
        return parsed
            ? command is not null && error is null
            : command is null && error is { Code: ErrorCodes.BadRequest, Message.Length: > 0 };
    }

    private static void AssertSame(WrittenCommand written, ClientCommand parsed)
    {
        Assert.Equal(written.Id, parsed.Id);
        Assert.Equal(written.Type, parsed.Type);
        Assert.Equal(written.Channel, parsed.Channel);
        Assert.Equal(written.Token, parsed.Token);
        Assert.Equal(written.User, parsed.User);
        Assert.Equal(written.Data, parsed.Data is null ? null : Encoding.UTF8.GetString(parsed.Data));
        Assert.Equal(written.Limit, parsed.Limit);
        Assert.Equal(written.Unread ?? false, parsed.Unread);
        Assert.Equal(written.Since, parsed.Since);
        Assert.Equal(written.Before, parsed.Before);
        Assert.Equal(written.Ids, parsed.Ids);
    }
}
