namespace Realtime.Silo.Tests.Engines;

public abstract partial class EngineSpecification
{
    [Fact]
    public async Task Appends_get_offsets_one_two_three_in_one_epoch()
    {
        var channel = Unique("chat:offsets");

        var results = new[] { await AppendAsync(channel, 1), await AppendAsync(channel, 2), await AppendAsync(channel, 3) };

        Assert.Equal([1L, 2L, 3L], results.Select(r => r.Offset));
        Assert.False(string.IsNullOrEmpty(results[0].Epoch));
        Assert.All(results, r => Assert.Equal(results[0].Epoch, r.Epoch));
        Assert.All(results, r => Assert.False(r.Duplicate));
    }

    [Fact]
    public async Task Parallel_appends_get_consecutive_offsets_with_no_duplicates()
    {
        var channel = Unique("chat:parallel");

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var offsets = new List<long>();
            for (var i = 0; i < 25; i++)
            {
                offsets.Add((await AppendAsync(channel, writer * 100 + i)).Offset);
            }

            return offsets;
        })));

        Assert.Equal(Range(1, 200), results.SelectMany(o => o).Order());
        Assert.All(results, offsets => Assert.Equal(offsets.Order(), offsets)); // each writer's own appends in order
        var page = await HistoryAsync(channel, limit: 500);
        Assert.Equal(200, page.Offset);
        Assert.Equal(Range(1, 200), Offsets(page));
    }

    [Fact]
    public async Task Channels_count_offsets_independently()
    {
        var first = Unique("chat:one");
        var second = Unique("chat:two");

        await AppendAsync(first, 1);
        await AppendAsync(first, 2);

        Assert.Equal(1, (await AppendAsync(second, 1)).Offset);
        Assert.Equal(3, (await AppendAsync(first, 3)).Offset);
    }

    [Fact]
    public async Task History_keeps_what_was_appended()
    {
        var channel = Unique("chat:content");
        var appended = await AppendAsync(channel, 42);

        var page = await HistoryAsync(channel);

        var message = Assert.Single(page.Messages);
        Assert.Equal(channel, message.Channel);
        Assert.Equal(1, message.Offset);
        Assert.Equal(appended.Epoch, message.Epoch);
        Assert.Equal(appended.Epoch, page.Epoch);
        Assert.Equal("alice", message.From);
        Assert.Equal("""{"n":42}""", Text(message.Data));
        // Stamped from the engine's clock (frozen here), kept to the millisecond.
        Assert.InRange(message.Timestamp, Clock.GetUtcNow().AddMilliseconds(-1), Clock.GetUtcNow());
    }

    [Fact]
    public async Task History_of_a_channel_never_written_is_empty_at_offset_zero()
    {
        var page = await HistoryAsync(Unique("chat:silent"));

        Assert.Equal(0, page.Offset);
        Assert.Empty(page.Messages);
    }

    [Fact]
    public async Task History_without_a_position_returns_the_newest_messages_oldest_first()
    {
        var channel = Unique("chat:latest");
        for (var i = 1; i <= 10; i++)
        {
            await AppendAsync(channel, i);
        }

        var page = await HistoryAsync(channel, limit: 3);

        Assert.Equal([8L, 9L, 10L], Offsets(page));
        Assert.Equal(["""{"n":8}""", """{"n":9}""", """{"n":10}"""], page.Messages.Select(m => Text(m.Data)));
        Assert.Equal(10, page.Offset);
        Assert.Equal(1, page.FirstRetained);
    }

    [Fact]
    public async Task History_after_an_offset_returns_the_next_messages_oldest_first()
    {
        var channel = Unique("chat:after");
        for (var i = 1; i <= 10; i++)
        {
            await AppendAsync(channel, i);
        }

        Assert.Equal([5L, 6L, 7L], Offsets(await HistoryAsync(channel, limit: 3, after: 4)));
        Assert.Equal([9L, 10L], Offsets(await HistoryAsync(channel, limit: 3, after: 8)));
        Assert.Empty((await HistoryAsync(channel, limit: 3, after: 10)).Messages);
        Assert.Equal(Range(1, 10), Offsets(await HistoryAsync(channel, limit: 100, after: 0)));
    }

    [Fact]
    public async Task History_before_an_offset_returns_the_messages_just_before_it_oldest_first()
    {
        var channel = Unique("chat:before");
        for (var i = 1; i <= 10; i++)
        {
            await AppendAsync(channel, i);
        }

        Assert.Equal([4L, 5L, 6L], Offsets(await HistoryAsync(channel, limit: 3, before: 7)));
        Assert.Equal([1L, 2L], Offsets(await HistoryAsync(channel, limit: 3, before: 3)));
        Assert.Empty((await HistoryAsync(channel, limit: 3, before: 1)).Messages);
    }

    [Fact]
    public async Task History_is_trimmed_to_the_history_size()
    {
        var channel = Unique("chat:small");
        for (var i = 1; i <= 10; i++)
        {
            await AppendAsync(channel, i, historySize: 3);
        }

        var page = await HistoryAsync(channel);

        Assert.Equal([8L, 9L, 10L], Offsets(page));
        Assert.Equal(8, page.FirstRetained);
        Assert.Equal(10, page.Offset);
    }

    [Fact]
    public async Task History_older_than_its_ttl_is_dropped()
    {
        var channel = Unique("chat:ttl");
        var ttl = TimeSpan.FromMinutes(1);
        await AppendAsync(channel, 1, historyTtl: ttl);
        await AppendAsync(channel, 2, historyTtl: ttl);
        Clock.Advance(TimeSpan.FromSeconds(40));
        await AppendAsync(channel, 3, historyTtl: ttl);
        await AppendAsync(channel, 4, historyTtl: ttl);

        Clock.Advance(TimeSpan.FromSeconds(30));
        await Engine.TrimAsync(CancellationToken.None);
        var page = await HistoryAsync(channel);

        Assert.Equal([3L, 4L], Offsets(page));
        Assert.Equal(3, page.FirstRetained);
        Assert.Equal(4, page.Offset);

        Clock.Advance(TimeSpan.FromMinutes(1));
        await Engine.TrimAsync(CancellationToken.None);
        page = await HistoryAsync(channel);
        Assert.Empty(page.Messages);
        Assert.Equal(5, page.FirstRetained);
        Assert.Equal(5, (await AppendAsync(channel, 5, historyTtl: ttl)).Offset);
    }

    [Fact]
    public async Task A_history_size_of_zero_keeps_nothing_but_still_counts_offsets()
    {
        var channel = Unique("chat:ephemeral");

        var first = await AppendAsync(channel, 1, historySize: 0);
        var second = await AppendAsync(channel, 2, historySize: 0);
        var page = await HistoryAsync(channel);

        Assert.Equal([1L, 2L], [first.Offset, second.Offset]);
        Assert.Empty(page.Messages);
        Assert.Equal(2, page.Offset);
        Assert.Equal(3, page.FirstRetained);
    }

    [Fact]
    public async Task An_idempotency_key_returns_the_first_offset_and_stores_the_message_once()
    {
        var channel = Unique("chat:idempotent");
        var key = Unique("key");

        var first = await AppendAsync(channel, 1, idempotencyKey: key);
        var retry = await AppendAsync(channel, 1, idempotencyKey: key);
        var other = await AppendAsync(channel, 2, idempotencyKey: Unique("key"));

        Assert.False(first.Duplicate);
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Offset, retry.Offset);
        Assert.Equal(first.Epoch, retry.Epoch);
        Assert.Equal(2, other.Offset);
        Assert.Equal([1L, 2L], Offsets(await HistoryAsync(channel)));
    }

    [Fact]
    public async Task Parallel_retries_with_one_idempotency_key_store_the_message_once()
    {
        var channel = Unique("chat:retries");
        var key = Unique("key");

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => AppendAsync(channel, 1, idempotencyKey: key))));

        Assert.Single(results.Select(r => r.Offset).Distinct());
        Assert.Single(results, r => !r.Duplicate);
        Assert.Single((await HistoryAsync(channel)).Messages);
    }
}
