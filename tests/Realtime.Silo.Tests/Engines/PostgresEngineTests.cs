using Microsoft.Extensions.Logging.Abstractions;
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
}
