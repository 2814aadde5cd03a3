using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Microsoft.Extensions.Options;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Postgres;
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

public sealed class PostgresEngineTests(PostgresFixture postgres) : EngineSpecification, IClassFixture<PostgresFixture>
{
    protected override async Task<IRealtimeEngine> CreateEngineAsync(RetentionOptions retention, TimeProvider clock)
    {
        var engine = new PostgresEngine(Options.Create(new PostgresOptions { ConnectionString = postgres.ConnectionString }),
            Options.Create(retention), clock, NullLogger<PostgresEngine>.Instance);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }

    // A second node is a second engine on the same database, with its own LISTEN connection.
    protected override Task<IRealtimeEngine> CreateSecondNodeAsync(IRealtimeEngine first, RetentionOptions retention, TimeProvider clock) =>
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

    private async Task<long> StoredRowsAsync(string channel)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(*) from rt_messages where channel = $1", connection) { Parameters = { new() { Value = channel } } };
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
