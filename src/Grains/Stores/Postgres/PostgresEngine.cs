using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Contracts.Channels;

namespace Realtime.Grains.Stores.Postgres;

/// <summary>
/// The cluster's store. Per-channel order is commit order: an append increments the channel's row,
/// whose lock is held to commit. Appends are group-committed by <see cref="AppendBatcher"/>. Nothing is
/// acknowledged before its transaction commits.
/// </summary>
public sealed partial class PostgresEngine : IRealtimeStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresOptions _options;
    private readonly IOptions<RetentionOptions> _retention;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresEngine> _logger;
    private readonly AppendBatcher _batcher;

    public PostgresEngine(IOptions<PostgresOptions> options, IOptions<RetentionOptions> retention, TimeProvider time, ILogger<PostgresEngine> logger)
    {
        var connectionString = ConnectionStringFor(options.Value.ConnectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _options = options.Value;
        _retention = retention;
        _time = time;
        _logger = logger;
        _batcher = new AppendBatcher(_dataSource, options.Value.MaxBatch, logger);
    }

    /// <summary>The configured connection string with the engine's defaults for what it leaves unset.</summary>
    internal static string ConnectionStringFor(string? configured)
    {
        var (builder, written) = Parse(configured);
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

    /// <summary>The configured connection string as Orleans' ADO.NET providers (clustering, grain storage, reminders) get
    /// it: with the keepalive the engine uses, so their pooled connections also notice a restarted server while idle.</summary>
    public static string ForOrleansProviders(string? configured) => Parse(configured).Builder.ConnectionString;

    private static (NpgsqlConnectionStringBuilder Builder, HashSet<string> Written) Parse(string? configured)
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

        if (!written.Contains("Keepalive"))
        {
            // Pooled connections sit idle through a server restart and would each fail their next command: a keepalive
            // query every two seconds finds them broken while idle, so Npgsql drops them before anyone draws them.
            builder.KeepAlive = 2;
        }

        return (builder, written);
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
                await PostgresSchema.MigrateAsync(_dataSource, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (IsUnavailable(e))
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
        await _batcher.StopAsync().ConfigureAwait(false);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (IsUnavailable(e) || e is OperationCanceledException)
        {
            return false;
        }
    }

    // A failed group commit is logged once by the batcher (BatchFailed), not again for each of its publishers.
    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) => request.IdempotencyKey is null
        ? Guard(() => _batcher.AppendAsync(request, Now(), cancellationToken), logCause: false)
        : Guard(() => AppendOnceAsync(request, cancellationToken));

    public Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken) =>
        Guard(() => PostgresHistory.ReadAsync(_dataSource, channel, query, Now(), cancellationToken));

    public Task TrimAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        var now = Now();
        var retention = _retention.Value;
        await using var batch = _dataSource.CreateBatch();
        Add(batch, """
            delete from rt_messages m using rt_channels c
            where m.ts <= $1 - interval '1 minute'
              and m.channel = c.channel
              and (m."offset" <= c.top - c.history_size or m.ts <= $1 - c.history_ttl_ms * interval '1 millisecond')
            """, now);
        Add(batch, "delete from rt_idempotency where expires_at <= $1", now);
        Add(batch, "delete from rt_inbox where delivered and ts <= $1", now - retention.InboxTtl);
        Add(batch, """
            delete from rt_inbox i using (
                select id from (select id, row_number() over (partition by user_id order by ts desc, id desc) as n from rt_inbox where delivered) ranked
                where n > $1) extra
            where i.id = extra.id
            """, retention.InboxMaxItems);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

        static void Add(NpgsqlBatch batch, string sql, object value)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = sql;
            command.Parameters.Add(new NpgsqlParameter { Value = value });
            batch.BatchCommands.Add(command);
        }
    });

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

    // Timestamps are kept to the millisecond, the precision PostgreSQL's timestamptz keeps to the microsecond
    // and clients read, so a message reads the same from a push and from history, and due times compare the same way everywhere.
    private DateTimeOffset Now() => Milliseconds(_time.GetUtcNow());

    private static DateTimeOffset Milliseconds(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
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

    /// <summary>Runs an engine operation, turning "PostgreSQL cannot be reached" into <see cref="EngineUnavailableException"/>.
    /// The caller hears only "unavailable", so the cause is logged here, where it is known.</summary>
    private async Task<T> Guard<T>(Func<Task<T>> operation, bool logCause = true, [CallerMemberName] string operationName = "")
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            if (logCause)
            {
                PostgresLog.OperationFailed(_logger, e, operationName);
            }

            throw new EngineUnavailableException("PostgreSQL is unavailable", e);
        }
    }

    private Task Guard(Func<Task> operation, [CallerMemberName] string operationName = "") => Guard(async () =>
    {
        await operation().ConfigureAwait(false);
        return true;
    }, operationName: operationName);

    /// <summary>The connection itself failed (the server went away or ended the session), as opposed to a statement
    /// that failed on a live one (a deadlock, a timeout): only then are the pool's idle connections suspect too.</summary>
    internal static bool IsConnectionLost(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException { InnerException: IOException or SocketException } => true,
        IOException or SocketException => true,
        _ => false,
    };

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
