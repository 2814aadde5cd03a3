using Npgsql;

namespace Realtime.Silo.Engines.Postgres;

/// <summary>
/// Cluster-job leadership as a session-level advisory lock on a connection this node keeps open.
/// If the leader dies or loses its connection, PostgreSQL releases the lock and another node takes
/// it in its next round: no leases or clocks of our own.
/// </summary>
internal sealed class PostgresLeadership(string connectionString) : IAsyncDisposable
{
    // Not pooled: closing a pooled connection only parks the session (its reset waits for the next
    // query), so a stopped leader kept the lock and no other node could lead until the pool pruned it.
    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NpgsqlConnection? _connection;
    private bool _leading;

    public async Task<bool> TryLeadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                var connection = new NpgsqlConnection(_connectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                _connection = connection;
            }

            var sql = _leading ? "select true" : $"select pg_try_advisory_lock({PostgresSchema.LeaderLock})";
            await using var command = new NpgsqlCommand(sql, _connection);
            _leading = (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return _leading;
        }
        catch
        {
            // The connection is suspect: drop it (and with it the lock) and start over next round.
            _leading = false;
            await DropConnectionAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }
}
