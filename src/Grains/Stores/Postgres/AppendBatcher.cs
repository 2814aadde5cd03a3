using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Realtime.Contracts.Channels;

namespace Realtime.Grains.Stores.Postgres;

/// <summary>
/// Group commit: appends that arrive while a transaction is in flight wait and go together in the
/// next one, so a busy node pays one commit for many messages. Within a batch, appends are sorted
/// by channel (stably, so each channel keeps arrival order): every node then takes channel row
/// locks in the same order, and two batches can never deadlock. The batch goes as one pipeline with no
/// explicit transaction: PostgreSQL runs it as one implicit transaction, so a batch costs one round trip.
/// </summary>
internal sealed class AppendBatcher(NpgsqlDataSource dataSource, int maxBatch, ILogger logger)
{
    private const string AppendSql = """
        with c as (
            insert into rt_channels as ch (channel, epoch, top, history_size, history_ttl_ms) values ($1, $2, 1, $3, $4)
            on conflict (channel) do update set top = ch.top + 1, history_size = excluded.history_size, history_ttl_ms = excluded.history_ttl_ms
            returning epoch, top),
        m as (insert into rt_messages (channel, "offset", sender, data, ts) select $1, c.top, $5, $6, $7 from c)
        select top, epoch from c
        """;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(RunAsync);

    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    public Task<AppendResult> AppendAsync(AppendRequest request, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        var pending = new Pending(request, timestamp, new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(pending)
            ? pending.Result.Task.WaitAsync(cancellationToken)
            : Task.FromException<AppendResult>(new EngineUnavailableException("the engine is stopping"));
    }

    /// <summary>
    /// Appends every message in one round trip. Inside the caller's transaction if one is
    /// open (the caller commits); otherwise the batch is its own implicit transaction, committed by PostgreSQL
    /// when the last statement has run, and rolled back whole if any of them fails.
    /// </summary>
    public static async Task<AppendResult[]> AppendAsync(
        NpgsqlConnection connection, IReadOnlyList<(AppendRequest Request, DateTimeOffset Timestamp)> items, CancellationToken cancellationToken)
    {
        var order = Enumerable.Range(0, items.Count).OrderBy(i => items[i].Request.Channel, StringComparer.Ordinal).ToArray();
        await using var appends = new NpgsqlBatch(connection);
        foreach (var i in order)
        {
            var (request, timestamp) = items[i];
            var command = appends.CreateBatchCommand();
            command.CommandText = AppendSql;
            command.Parameters.Add(new NpgsqlParameter { Value = request.Channel });
            command.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid().ToString("N")[..8] });
            command.Parameters.Add(new NpgsqlParameter { Value = request.HistorySize });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)request.HistoryTtl.TotalMilliseconds });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)request.From ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = System.Text.Encoding.UTF8.GetString(request.Data) });
            command.Parameters.Add(new NpgsqlParameter { Value = timestamp });
            appends.BatchCommands.Add(command);
        }

        var results = new AppendResult[items.Count];
        await using var reader = await appends.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var i in order)
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            results[i] = new AppendResult(reader.GetInt64(0), reader.GetString(1), Timestamp: items[i].Timestamp);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(maxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < maxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
                var results = await AppendAsync(connection, batch.Select(p => (p.Request, p.Timestamp)).ToArray(), CancellationToken.None)
                    .ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
            catch (Exception e)
            {
                // Not committed (or not known to be): every append of the batch is reported failed.
                PostgresLog.BatchFailed(logger, e, batch.Count);
                if (PostgresEngine.IsConnectionLost(e))
                {
                    // The server went away: the idle connections beside this one are dead too, so the next batches
                    // open fresh ones rather than each failing on one of those.
                    dataSource.Clear();
                }

                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(e);
                }
            }
        }
    }

    private sealed record Pending(AppendRequest Request, DateTimeOffset Timestamp, TaskCompletionSource<AppendResult> Result);
}
