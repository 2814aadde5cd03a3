using System.Text;
using Npgsql;
using Realtime.Contracts.Channels;

namespace Realtime.Grains.Stores.Postgres;

/// <summary>
/// History reads. The window a reader sees (the newest <c>history_size</c> offsets, younger than
/// <c>history_ttl</c>) is applied here, so trimming rows later is only garbage collection and a
/// reader never sees a message its namespace would not keep.
/// </summary>
internal static class PostgresHistory
{
    public static async Task<HistoryPage> ReadAsync(
        NpgsqlDataSource dataSource, string channel, HistoryQuery query, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (epoch, top, size, ttl) = await ReadPositionAsync(connection, channel, cancellationToken).ConfigureAwait(false);
        var lowest = top - size;          // offsets at or below this are past the history size
        var youngest = now - ttl;         // messages at or before this are past the history age

        await using var batch = new NpgsqlBatch(connection);
        var first = batch.CreateBatchCommand();
        first.CommandText = """select min("offset") from rt_messages where channel = $1 and "offset" > $2 and ts > $3""";
        AddParameters(first, channel, lowest, youngest);
        batch.BatchCommands.Add(first);

        var messages = batch.CreateBatchCommand();
        (messages.CommandText, var ascending) = query switch
        {
            { After: { } after } => ($"""select "offset", sender, data, ts from rt_messages where channel = $1 and "offset" > greatest($2, {after}) and ts > $3 order by "offset" limit $4""", true),
            { Before: { } before } => ($"""select "offset", sender, data, ts from rt_messages where channel = $1 and "offset" > $2 and ts > $3 and "offset" < {before} order by "offset" desc limit $4""", false),
            _ => ("""select "offset", sender, data, ts from rt_messages where channel = $1 and "offset" > $2 and ts > $3 order by "offset" desc limit $4""", false),
        };
        AddParameters(messages, channel, lowest, youngest);
        messages.Parameters.Add(new NpgsqlParameter { Value = query.Limit });
        batch.BatchCommands.Add(messages);

        var page = new List<Publication>(Math.Min(query.Limit, 1000));
        long firstRetained;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            firstRetained = reader.IsDBNull(0) ? top + 1 : reader.GetInt64(0);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                page.Add(new Publication(channel, reader.GetInt64(0), epoch, reader.IsDBNull(1) ? null : reader.GetString(1),
                    Encoding.UTF8.GetBytes(reader.GetString(2)), reader.GetFieldValue<DateTimeOffset>(3)));
            }
        }

        if (!ascending)
        {
            page.Reverse();
        }

        return new HistoryPage(epoch, top, firstRetained, page);
    }

    /// <summary>The channel's epoch, newest offset and retention, creating its row (and epoch) on first use.</summary>
    public static async Task<(string Epoch, long Top, int Size, TimeSpan Ttl)> ReadPositionAsync(
        NpgsqlConnection connection, string channel, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("insert into rt_channels (channel, epoch, top, history_size, history_ttl_ms) values ($1, $2, 0, 0, 0) on conflict do nothing")
                {
                    Parameters = { new NpgsqlParameter { Value = channel }, new NpgsqlParameter { Value = Guid.NewGuid().ToString("N")[..8] } },
                },
                new NpgsqlBatchCommand("select epoch, top, history_size, history_ttl_ms from rt_channels where channel = $1")
                {
                    Parameters = { new NpgsqlParameter { Value = channel } },
                },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), TimeSpan.FromMilliseconds(reader.GetInt64(3)));
    }

    private static void AddParameters(NpgsqlBatchCommand command, string channel, long lowest, DateTimeOffset youngest)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = channel });
        command.Parameters.Add(new NpgsqlParameter { Value = lowest });
        command.Parameters.Add(new NpgsqlParameter { Value = youngest });
    }
}
