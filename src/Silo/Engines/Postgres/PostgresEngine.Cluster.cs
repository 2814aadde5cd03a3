using System.Text;
using Npgsql;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;

namespace Realtime.Silo.Engines.Postgres;

public sealed partial class PostgresEngine
{
    public Task AddPresenceAsync(string channel, PresenceEntry entry, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var command = _dataSource.CreateCommand(
            "insert into rt_presence (channel, client, user_id, node) values ($1, $2, $3, $4) " +
            "on conflict (channel, client) do update set user_id = excluded.user_id, node = excluded.node");
        command.Parameters.AddWithValue(channel);
        command.Parameters.AddWithValue(entry.Client);
        command.Parameters.AddWithValue(entry.User);
        command.Parameters.AddWithValue(entry.Node);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    });

    public Task<bool> RemovePresenceAsync(string channel, string client, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var command = _dataSource.CreateCommand("delete from rt_presence where channel = $1 and client = $2");
        command.Parameters.AddWithValue(channel);
        command.Parameters.AddWithValue(client);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    });

    public Task<IReadOnlyList<PresenceEntry>> ListPresenceAsync(string channel, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var command = _dataSource.CreateCommand("select client, user_id, node from rt_presence where channel = $1 order by client");
        command.Parameters.AddWithValue(channel);
        var entries = new List<PresenceEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new PresenceEntry(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return (IReadOnlyList<PresenceEntry>)entries;
    });

    public Task HeartbeatAsync(NodeStatus status, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var command = _dataSource.CreateCommand(
            "insert into rt_nodes (node, last_seen, connections, channels) values ($1, $2, $3, $4) " +
            "on conflict (node) do update set last_seen = excluded.last_seen, connections = excluded.connections, channels = excluded.channels");
        command.Parameters.AddWithValue(status.Node);
        command.Parameters.AddWithValue(Now());
        command.Parameters.AddWithValue(status.Connections);
        command.Parameters.AddWithValue(status.Channels);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    });

    public Task<IReadOnlyList<NodeStatus>> ListNodesAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var command = _dataSource.CreateCommand("select node, last_seen, connections, channels from rt_nodes order by node");
        var nodes = new List<NodeStatus>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes.Add(new NodeStatus(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2), reader.GetInt32(3)));
        }

        return (IReadOnlyList<NodeStatus>)nodes;
    });

    public Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> ExpireDeadNodesAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        RemovePresenceOfAsync("""
            with dead as (delete from rt_nodes where last_seen < $1 returning node)
            delete from rt_presence where node in (select node from dead) returning channel, client, user_id, node
            """, Now() - timeout, cancellationToken);

    // The presence rows go even if the node row is already gone (a restart before the first heartbeat).
    public Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> RemoveNodeAsync(string node, CancellationToken cancellationToken) =>
        RemovePresenceOfAsync("""
            with gone as (delete from rt_nodes where node = $1)
            delete from rt_presence where node = $1 returning channel, client, user_id, node
            """, node, cancellationToken);

    private Task<IReadOnlyList<(string Channel, PresenceEntry Entry)>> RemovePresenceOfAsync(string sql, object parameter, CancellationToken cancellationToken) =>
        Guard(async () =>
        {
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue(parameter);
            var removed = new List<(string, PresenceEntry)>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                removed.Add((reader.GetString(0), new PresenceEntry(reader.GetString(1), reader.GetString(2), reader.GetString(3))));
            }

            return (IReadOnlyList<(string, PresenceEntry)>)removed;
        });

    public Task<bool> TryLeadAsync(CancellationToken cancellationToken) => Guard(() => _leadership.TryLeadAsync(cancellationToken));

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
        Add(batch, "delete from rt_payloads where created_at <= $1", now - TimeSpan.FromMinutes(5));
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

    // A payload too large for NOTIFY names a stored row; read it back to rebuild the event.
    private async Task<StreamEvent?> ResolveReferenceAsync(EventCodec.Reference reference, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        switch (reference.Kind)
        {
            case EventCodec.ReferenceKind.Message:
            {
                var (epoch, _, _, _) = await PostgresHistory.ReadPositionAsync(connection, reference.Key.Key, cancellationToken).ConfigureAwait(false);
                await using var select = new NpgsqlCommand("""select sender, data, ts from rt_messages where channel = $1 and "offset" = $2""", connection);
                select.Parameters.AddWithValue(reference.Key.Key);
                select.Parameters.AddWithValue(reference.Number);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? new PublicationEvent(new Publication(reference.Key.Key, reference.Number, epoch, reader.IsDBNull(0) ? null : reader.GetString(0),
                        Encoding.UTF8.GetBytes(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(2)))
                    : null;
            }

            case EventCodec.ReferenceKind.Notification:
                return await ReadEntryAsync(connection, reference.Id!, cancellationToken).ConfigureAwait(false) is { } entry
                    ? new NotificationEvent(entry)
                    : null;
            default:
            {
                await using var select = new NpgsqlCommand("select payload from rt_payloads where id = $1", connection);
                select.Parameters.AddWithValue(reference.Number);
                return await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string payload
                    ? EventCodec.Decode(payload) as StreamEvent
                    : null;
            }
        }
    }
}
