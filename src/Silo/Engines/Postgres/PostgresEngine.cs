using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Streams;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Engines.Postgres;

/// <summary>
/// The multi-node engine. Per-channel order is commit order: an append increments the channel's
/// row, whose lock is held to commit, and NOTIFY (sent in the same transaction) is delivered in
/// commit order. Appends are group-committed by <see cref="AppendBatcher"/>. Nothing is
/// acknowledged before its transaction commits.
/// </summary>
public sealed partial class PostgresEngine : IRealtimeEngine, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresOptions _options;
    private readonly IOptions<RetentionOptions> _retention;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresEngine> _logger;
    private readonly AppendBatcher _batcher;
    private readonly PostgresListener _listener;
    private readonly PostgresLeadership _leadership;

    public PostgresEngine(IOptions<PostgresOptions> options, IOptions<RetentionOptions> retention, TimeProvider time, ILogger<PostgresEngine> logger)
    {
        var connectionString = ConnectionStringFor(options.Value.ConnectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _options = options.Value;
        _retention = retention;
        _time = time;
        _logger = logger;
        _batcher = new AppendBatcher(_dataSource, options.Value.MaxBatch, logger);
        _listener = new PostgresListener(connectionString, options.Value.ReconnectDelay, ResolveReferenceAsync, logger);
        _leadership = new PostgresLeadership(connectionString);
    }

    /// <summary>The configured connection string with the engine's defaults for what it leaves unset.</summary>
    internal static string ConnectionStringFor(string? configured)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(configured);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{PostgresOptions.Section}:ConnectionString is not a valid Npgsql connection string: {e.Message}", e);
        }

        // NpgsqlConnectionStringBuilder.ContainsKey answers whether a keyword exists, not whether it was set. Its
        // ConnectionString lists only what was set, under canonical names (synonyms resolved).
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString }.Keys
            .Cast<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);

        if (!written.Contains("Timeout"))
        {
            builder.Timeout = 3; // fail fast when the server is down, so callers hear "unavailable" quickly
        }

        if (!written.Contains("Command Timeout"))
        {
            builder.CommandTimeout = 10;
        }

        if (!written.Contains("Max Auto Prepare"))
        {
            // Every publish runs the same few statements: prepared once per pooled connection, PostgreSQL stops parsing
            // and planning them each time (docs/benchmarks.md, "Sixth round"). Max Auto Prepare=0 turns it off.
            builder.MaxAutoPrepare = 32;
        }

        return builder.ConnectionString;
    }

    public string Name => RealtimeOptions.PostgresEngine;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Nodes often boot beside their database: wait for it (up to StartupTimeout) instead of exiting.
        var deadline = DateTime.UtcNow + _options.StartupTimeout;
        while (true)
        {
            try
            {
                await Guard(() => PostgresSchema.MigrateAsync(_dataSource, cancellationToken)).ConfigureAwait(false);
                await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (IsUnavailable(e) || e is EngineUnavailableException)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new EngineUnavailableException(
                        $"PostgreSQL could not be reached within {PostgresOptions.Section}:StartupTimeout ({_options.StartupTimeout}): {e.Message}", e);
                }

                PostgresLog.WaitingForPostgres(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }

        _batcher.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _listener.StopAsync().ConfigureAwait(false);
        await _batcher.StopAsync().ConfigureAwait(false);
        await _leadership.DisposeAsync().ConfigureAwait(false);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return _listener.IsListening;
        }
        catch (Exception e) when (IsUnavailable(e) || e is OperationCanceledException)
        {
            return false;
        }
    }

    public IDisposable Subscribe(StreamKey key, Action<StreamEvent> onEvent) => _listener.Subscribe(key, onEvent);

    public Task PublishAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default) =>
        Guard(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await NotifyAsync(connection, key, EventCodec.Encode(streamEvent), cancellationToken).ConfigureAwait(false);
        });

    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) =>
        Guard(() => request.IdempotencyKey is null
            ? _batcher.AppendAsync(request, Now(), cancellationToken)
            : AppendOnceAsync(request, cancellationToken));

    public Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        Guard(() => PostgresHistory.ReadAsync(_dataSource, channel, query, Now(), cancellationToken));

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    // An idempotent append runs alone: the key row and the message commit together, and a retry
    // that finds the key returns the first result instead of appending again.
    private async Task<AppendResult> AppendOnceAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var scope = "channel:" + request.Channel;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await LockKeyAsync(connection, scope, request.IdempotencyKey!, cancellationToken).ConfigureAwait(false);
        if (await ReadKeyAsync(connection, scope, request.IdempotencyKey!, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            var parts = earlier.Split(' ', 2);
            return new AppendResult(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1], Duplicate: true);
        }

        var result = (await AppendBatcher.AppendAsync(connection, [(request, Now())], cancellationToken).ConfigureAwait(false))[0];
        await StoreKeyAsync(connection, scope, request.IdempotencyKey!, $"{result.Offset} {result.Epoch}", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    // Timestamps are kept to the millisecond, the precision NOTIFY payloads carry, so a message reads
    // the same from a push and from history, and due times compare the same way everywhere.
    private DateTimeOffset Now() => Milliseconds(_time.GetUtcNow());

    private static DateTimeOffset Milliseconds(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    internal static async Task NotifyAsync(NpgsqlConnection connection, StreamKey key, string payload, CancellationToken cancellationToken)
    {
        if (!EventCodec.FitsInline(payload))
        {
            await using var spill = new NpgsqlCommand("insert into rt_payloads (payload) values ($1) returning id", connection);
            spill.Parameters.AddWithValue(payload);
            payload = EventCodec.SpillReference(key, (long)(await spill.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
        }

        await using var notify = new NpgsqlCommand($"select pg_notify('{PostgresSchema.EventsChannel}', $1)", connection);
        notify.Parameters.AddWithValue(payload);
        await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task LockKeyAsync(NpgsqlConnection connection, string scope, string key, CancellationToken cancellationToken)
    {
        // Serialises retries of one key across nodes until this transaction ends.
        await using var command = new NpgsqlCommand("select pg_advisory_xact_lock(hashtextextended($1, 0))", connection);
        command.Parameters.AddWithValue(scope + "\n" + key);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> ReadKeyAsync(NpgsqlConnection connection, string scope, string key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select result from rt_idempotency where scope = $1 and key = $2 and expires_at > $3", connection);
        command.Parameters.AddWithValue(scope);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(Now());
        return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StoreKeyAsync(NpgsqlConnection connection, string scope, string key, string result, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "insert into rt_idempotency (scope, key, result, expires_at) values ($1, $2, $3, $4) " +
            "on conflict (scope, key) do update set result = excluded.result, expires_at = excluded.expires_at", connection);
        command.Parameters.AddWithValue(scope);
        command.Parameters.AddWithValue(key);
        command.Parameters.AddWithValue(result);
        command.Parameters.AddWithValue(Now() + _retention.Value.IdempotencyTtl);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs an engine operation, turning "PostgreSQL cannot be reached" into <see cref="EngineUnavailableException"/>.</summary>
    internal static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new EngineUnavailableException("PostgreSQL is unavailable", e);
        }
    }

    internal static Task Guard(Func<Task> operation) => Guard(async () =>
    {
        await operation().ConfigureAwait(false);
        return true;
    });

    internal static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exceptions
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)                 // admin shutdown, cannot connect now
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)                  // insufficient resources
            || pg.SqlState == "40001" || pg.SqlState == "40P01",                       // serialization failure, deadlock
        NpgsqlException or SocketException or IOException or TimeoutException => true,
        InvalidOperationException when e.InnerException is not null => IsUnavailable(e.InnerException),
        _ => false,
    };
}
