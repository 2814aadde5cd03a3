using Realtime.Contracts.Channels;
using Realtime.Grains.Stores.Memory;

namespace Realtime.Silo.Tests.Engines;

/// <summary>The memory engine's history buffer against the obvious model (a list of publications), over
/// random appends of random sizes, trims and queries: wrap-around, growth and shrinking included.</summary>
public sealed class HistoryRingTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Behaves_like_a_list_of_publications(int seed)
    {
        var random = new Random(seed);
        var ring = new HistoryRing();
        var model = new List<Publication>();
        long offset = 0;
        for (var step = 0; step < 5_000; step++)
        {
            var action = random.Next(10);
            if (action < 5 || model.Count == 0)
            {
                // Mostly small messages, now and then one larger than everything held, to force growth mid-wrap.
                var size = random.Next(10) == 0 ? random.Next(200, 3000) : random.Next(0, 120);
                var data = new byte[size];
                random.NextBytes(data);
                var from = random.Next(3) == 0 ? null : $"user{random.Next(5)}";
                var publication = new Publication("c", ++offset, "e", from, data, Start.AddMilliseconds(offset));
                ring.Append(publication.Offset, publication.Timestamp, publication.From, data);
                model.Add(publication);
            }
            else if (action < 8)
            {
                ring.RemoveOldest();
                model.RemoveAt(0);
            }
            else
            {
                var limit = random.Next(0, 40);
                var query = random.Next(3) switch
                {
                    0 => new HistoryQuery(limit),
                    1 => new HistoryQuery(limit, After: offset - random.Next(0, 60)),
                    _ => new HistoryQuery(limit, Before: offset - random.Next(-2, 60)),
                };
                AssertSame(Expected(model, query), ring.Read("c", "e", query));
            }

            Assert.Equal(model.Count, ring.Count);
            Assert.Equal(model.Count > 0, ring.TryPeekOldest(out var oldest, out var at));
            if (model.Count > 0)
            {
                Assert.Equal((model[0].Offset, model[0].Timestamp), (oldest, at));
            }
        }

        AssertSame(model, ring.Read("c", "e", new HistoryQuery(int.MaxValue)));
    }

    [Fact]
    public void The_buffer_grows_with_what_is_held_and_gives_memory_back_when_trimmed()
    {
        var ring = new HistoryRing();
        Assert.Equal(0, ring.Capacity); // nothing reserved for a channel without history

        for (var i = 1; i <= 1000; i++)
        {
            ring.Append(i, Start, null, new byte[100]);
        }

        Assert.InRange(ring.Capacity, 100_000, 200_000);
        while (ring.Count > 10)
        {
            ring.RemoveOldest();
        }

        Assert.InRange(ring.Capacity, 1_000, 4_096);
        Assert.Equal(Enumerable.Range(991, 10).Select(i => (long)i), ring.Read("c", "e", new HistoryQuery(100)).Select(p => p.Offset));
    }

    private static List<Publication> Expected(List<Publication> model, HistoryQuery query) =>
        query.After is { } after
            ? model.Where(p => p.Offset > after).Take(query.Limit).ToList()
            : model.Where(p => p.Offset < (query.Before ?? long.MaxValue)).TakeLast(query.Limit).ToList();

    private static void AssertSame(IReadOnlyList<Publication> expected, IReadOnlyList<Publication> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal((expected[i].Offset, expected[i].From, expected[i].Timestamp), (actual[i].Offset, actual[i].From, actual[i].Timestamp));
            Assert.Equal(expected[i].Data, actual[i].Data);
        }
    }
}
