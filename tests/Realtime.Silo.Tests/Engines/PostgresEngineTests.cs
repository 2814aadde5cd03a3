using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Channels;
using Realtime.Grains.Stores;
using Realtime.Grains.Stores.Postgres;
using Realtime.Testing;

namespace Realtime.Silo.Tests.Engines;

/// <summary>One PostgreSQL server and database for the whole engine suite.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.StartAsync();
        ConnectionString = await Server.CreateDatabaseAsync();
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed partial class PostgresEngineTests(PostgresFixture postgres) : EngineSpecification, IClassFixture<PostgresFixture>
{
    protected override async Task<IRealtimeStore> CreateEngineAsync(RetentionOptions retention, TimeProvider clock) =>
        await StartEngineAsync(new PostgresOptions { ConnectionString = postgres.ConnectionString }, retention, clock);

    private static async Task<PostgresEngine> StartEngineAsync(PostgresOptions options, RetentionOptions retention, TimeProvider clock)
    {
        var engine = new PostgresEngine(Options.Create(options), Options.Create(retention), clock, NullLogger<PostgresEngine>.Instance);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }

    // A second node is a second store on the same database.
    protected override Task<IRealtimeStore> CreateSecondNodeAsync(IRealtimeStore first, RetentionOptions retention, TimeProvider clock) =>
        CreateEngineAsync(retention, clock);

    // Readers apply the history window themselves; trimming is the garbage collection behind it. Rows past the
    // window stay a minute (a node may still be resolving a reference to one), then go; rows inside it stay.
    [Fact]
    public async Task Trimming_deletes_rows_past_the_window_once_a_minute_old_and_keeps_the_rest()
    {
        var sized = Unique("chat:trim-size");
        var aged = Unique("chat:trim-age");
        for (var n = 1; n <= 10; n++)
        {
            await AppendAsync(sized, n, historySize: 3);
        }

        await AppendAsync(aged, 1, historyTtl: TimeSpan.FromSeconds(10));
        Clock.Advance(TimeSpan.FromSeconds(30));
        await Engine.TrimAsync(CancellationToken.None);
        Assert.Equal(10, await StoredRowsAsync(sized));
        Assert.Equal(1, await StoredRowsAsync(aged));

        Clock.Advance(TimeSpan.FromSeconds(31));
        await AppendAsync(sized, 11, historySize: 3);
        await Engine.TrimAsync(CancellationToken.None);

        Assert.Equal([9L, 10L, 11L], Offsets(await HistoryAsync(sized)));
        Assert.Equal(3, await StoredRowsAsync(sized));  // 1-8 went; 9 and 10 are old but inside the window; 11 is new
        Assert.Equal(0, await StoredRowsAsync(aged));
    }

    // Pooled connections sit idle through a restart. Npgsql's keepalive finds them broken while the server is down,
    // so the first append after it is back does not draw a dead connection and fail with "unavailable".
    // On a server of its own: the restart breaks every pooled connection to it, the other tests' included.
    [Fact]
    public async Task The_first_append_and_read_after_a_server_restart_succeed()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var engine = await StartEngineAsync(new PostgresOptions { ConnectionString = await server.CreateDatabaseAsync() }, new RetentionOptions(), Clock);
        var channel = Unique("chat:restart");
        await Task.WhenAll(Enumerable.Range(1, 4).Select(n => Append(n)));
        await engine.ReadHistoryAsync(channel, new HistoryQuery(100), CancellationToken.None);

        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(6)); // down for three keepalive periods
        await server.StartAgainAsync();

        await Append(5);
        var history = await engine.ReadHistoryAsync(channel, new HistoryQuery(100), CancellationToken.None);
        Assert.Equal([1L, 2L, 3L, 4L, 5L], Offsets(history));

        Task<AppendResult> Append(int n) =>
            engine.AppendAsync(new AppendRequest(channel, "alice", Json(n), 1000, TimeSpan.FromHours(1), null), CancellationToken.None);
    }

    // A caller of a store that cannot reach PostgreSQL hears only "unavailable"; the node's log says which operation
    // failed and why, so whoever reads it at night learns more than "unavailable" did.
    [Fact]
    public async Task A_call_that_cannot_reach_the_server_fails_as_unavailable_and_logs_the_operation_and_its_cause()
    {
        await using var server = await PostgresServer.StartAsync();
        var logger = new FakeLogger<PostgresEngine>();
        await using var engine = new PostgresEngine(Options.Create(new PostgresOptions { ConnectionString = await server.CreateDatabaseAsync() }),
            Options.Create(new RetentionOptions()), Clock, logger);
        await engine.StartAsync(CancellationToken.None);
        await server.KillAsync();

        await Assert.ThrowsAsync<EngineUnavailableException>(() => engine.ReadHistoryAsync(Unique("chat:down"), new HistoryQuery(100), CancellationToken.None));

        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 301);
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Contains(nameof(PostgresEngine.ReadHistoryAsync), record.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<NpgsqlException>(record.Exception);

        // A group commit that fails is logged once, for the whole batch, and not again for each publisher in it.
        logger.Collector.Clear();
        var appends = Enumerable.Range(1, 3).Select(n => engine.AppendAsync(
            new AppendRequest(Unique("chat:down"), "alice", Json(n), 1000, TimeSpan.FromHours(1), null), CancellationToken.None)).ToArray();
        foreach (var append in appends)
        {
            await Assert.ThrowsAsync<EngineUnavailableException>(() => append);
        }

        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id == 301);
        Assert.Contains(logger.Collector.GetSnapshot(), r => r.Id.Id == 300);
    }

    // The batcher sends a batch with no explicit transaction: PostgreSQL must run it as one, so a message
    // that fails takes the rest of its batch with it, and no offset is spent on the ones rolled back.
    [Fact]
    public async Task An_append_batch_with_one_failing_message_stores_none_of_it()
    {
        var good = Unique("chat:batch-a");
        var bad = Unique("chat:batch-b"); // sorts after the good one, so the good append has run when this one fails
        var now = Clock.GetUtcNow();
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await Assert.ThrowsAsync<PostgresException>(() => AppendBatcher.AppendAsync(connection,
            [
                (new AppendRequest(good, "alice", Json(1), 10, TimeSpan.FromHours(1)), now),
                (new AppendRequest(bad, "alice", [(byte)'"', 0, (byte)'"'], 10, TimeSpan.FromHours(1)), now), // NUL: text refuses it
            ], CancellationToken.None));
        }

        Assert.Equal(0, await StoredRowsAsync(good));
        var next = await Engine.AppendAsync(new AppendRequest(good, "alice", Json(2), 10, TimeSpan.FromHours(1)), CancellationToken.None);
        Assert.Equal(1, next.Offset);
        var only = Assert.Single((await HistoryAsync(good)).Messages);
        Assert.Equal(1L, only.Offset);
        Assert.Equal(Json(2), only.Data);
    }

    private async Task<long> StoredRowsAsync(string channel)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(*) from rt_messages where channel = $1", connection) { Parameters = { new() { Value = channel } } };
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
