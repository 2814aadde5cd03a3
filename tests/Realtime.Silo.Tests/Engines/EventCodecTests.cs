using System.Text;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Streams;
using Realtime.Silo.Engines.Postgres;

namespace Realtime.Silo.Tests.Engines;

/// <summary>
/// The append statement builds a publication's NOTIFY payload from two parts and the offset and epoch
/// PostgreSQL gave it; what it builds must be exactly what the codec writes and reads.
/// </summary>
public sealed class EventCodecTests
{
    private static readonly DateTimeOffset Timestamp = new(2026, 11, 21, 20, 0, 0, 123, TimeSpan.Zero);

    // What the statement does: head || offset || ',"e":"' || epoch || tail.
    private static string Filled((string Head, string Tail) parts, long offset, string epoch) =>
        parts.Head + offset + ",\"e\":\"" + epoch + parts.Tail;

    [Theory]
    [InlineData("chat:room", "alice", """{"text":"hi"}""")]
    [InlineData("chat:\"quoted\\back\"", null, """{"text":"žluťoučký 🐎","n":[1,2.5,null]}""")]
    [InlineData("chat:x", "bob", "\"just a string\"")]
    public void Filled_parts_are_the_payload_the_codec_writes_and_read_back_as_the_publication(string channel, string? from, string json)
    {
        var data = Encoding.UTF8.GetBytes(json);
        var publication = new Publication(channel, 9_223_372_036_854_775_807, "0a1b2c3d", from, data, Timestamp);

        var payload = Filled(EventCodec.PublicationParts(channel, from, Timestamp, data), publication.Offset, publication.Epoch);

        Assert.Equal(EventCodec.Encode(new PublicationEvent(publication)), payload);
        var decoded = Assert.IsType<PublicationEvent>(EventCodec.Decode(payload)).Publication;
        Assert.Equal((channel, publication.Offset, "0a1b2c3d", from, Timestamp), (decoded.Channel, decoded.Offset, decoded.Epoch, decoded.From, decoded.Timestamp));
        Assert.Equal(data, decoded.Data);
    }

    [Fact]
    public void A_message_too_large_to_inline_becomes_a_reference_to_its_row()
    {
        var data = Encoding.UTF8.GetBytes($$"""{"text":"{{new string('m', 9_000)}}"}""");

        var payload = Filled(EventCodec.PublicationParts("chat:large", "alice", Timestamp, data), 42, "0a1b2c3d");

        var reference = Assert.IsType<EventCodec.Reference>(EventCodec.Decode(payload));
        Assert.Equal((EventCodec.ReferenceKind.Message, StreamKey.ForChannel("chat:large"), 42L), (reference.Kind, reference.Key, reference.Number));
    }

    [Fact]
    public void No_inline_payload_passes_the_limit_whatever_offset_it_is_given()
    {
        // Around the limit byte by byte, with the longest offset: every payload chosen to go inline fits, and
        // the largest inline one comes close to the limit (the parts do not give up on messages that fit).
        var largestInline = 0;
        for (var size = EventCodec.MaxInlineBytes - 200; size <= EventCodec.MaxInlineBytes + 10; size++)
        {
            var data = Encoding.UTF8.GetBytes($$"""{"t":"{{new string('x', size - 8)}}"}""");
            var payload = Filled(EventCodec.PublicationParts("chat:edge", "alice", Timestamp, data), long.MaxValue, "0a1b2c3d");
            if (EventCodec.Decode(payload) is PublicationEvent)
            {
                Assert.True(Encoding.UTF8.GetByteCount(payload) <= EventCodec.MaxInlineBytes, $"{size}-byte message: payload over the limit");
                largestInline = Math.Max(largestInline, Encoding.UTF8.GetByteCount(payload));
            }
        }

        Assert.InRange(largestInline, EventCodec.MaxInlineBytes - 64, EventCodec.MaxInlineBytes);
    }
}
