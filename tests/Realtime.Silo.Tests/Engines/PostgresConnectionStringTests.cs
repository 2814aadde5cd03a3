using Npgsql;
using Realtime.Grains.Stores.Postgres;

namespace Realtime.Silo.Tests.Engines;

/// <summary>The engine's defaults fill only what the configured connection string leaves unset.</summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void Unset_timeouts_and_statement_preparation_get_the_engines_defaults()
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresEngine.ConnectionStringFor("Host=db;Username=realtime;Database=realtime"));

        Assert.Equal(3, built.Timeout);
        Assert.Equal(10, built.CommandTimeout);
        Assert.Equal(32, built.MaxAutoPrepare);
        Assert.Equal(2, built.KeepAlive);
        Assert.Equal("db", built.Host);
    }

    [Fact]
    public void Orleans_providers_get_the_keepalive_and_nothing_else()
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresEngine.ForOrleansProviders("Host=db;Username=realtime;Timeout=7"));

        Assert.Equal(2, built.KeepAlive);
        Assert.Equal(7, built.Timeout);
        Assert.Equal(0, built.MaxAutoPrepare);
        Assert.Equal(30, new NpgsqlConnectionStringBuilder(PostgresEngine.ForOrleansProviders("Host=db;Keepalive=30")).KeepAlive);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;Timeout=15;Command Timeout=60")]
    [InlineData("host=db;max auto prepare=0;timeout=15;command timeout=60")]
    [InlineData("Server=db;MaxAutoPrepare=0;TIMEOUT=15;CommandTimeout=60")]
    public void Values_the_operator_set_are_kept(string configured)
    {
        var built = new NpgsqlConnectionStringBuilder(PostgresEngine.ConnectionStringFor(configured));

        Assert.Equal(0, built.MaxAutoPrepare);
        Assert.Equal(15, built.Timeout);
        Assert.Equal(60, built.CommandTimeout);
    }

    [Fact]
    public void A_malformed_connection_string_names_the_setting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => PostgresEngine.ConnectionStringFor("Host=db;Nonsense Key=1"));

        Assert.Contains("Realtime:Postgres:ConnectionString", e.Message);
    }
}
