using System.Text;
using Npgsql;
using Realtime.Contracts.Streams;
using Realtime.Contracts.Users;

namespace Realtime.Silo.Engines.Postgres;

public sealed partial class PostgresEngine
{
    public Task<InboxEntry> AppendInboxAsync(InboxAppend request, CancellationToken cancellationToken) => Guard(async () =>
    {
        var now = Now();
        var at = request.DeliverAt is { } deliverAt && Milliseconds(deliverAt) > now ? Milliseconds(deliverAt) : now;
        var entry = new InboxEntry(Guid.CreateVersion7(at).ToString("N"), request.User, request.Data, at, Read: false);
        var scope = "inbox:" + request.User;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (request.IdempotencyKey is { } key)
        {
            await LockKeyAsync(connection, scope, key, cancellationToken).ConfigureAwait(false);
            if (await ReadKeyAsync(connection, scope, key, cancellationToken).ConfigureAwait(false) is { } earlierId)
            {
                return await ReadEntryAsync(connection, earlierId, cancellationToken).ConfigureAwait(false) ?? entry with { Id = earlierId };
            }

            await StoreKeyAsync(connection, scope, key, entry.Id, cancellationToken).ConfigureAwait(false);
        }

        var due = at <= now;
        await using (var insert = new NpgsqlCommand("insert into rt_inbox (id, user_id, data, ts, delivered) values ($1, $2, $3, $4, $5)", connection))
        {
            insert.Parameters.AddWithValue(entry.Id);
            insert.Parameters.AddWithValue(entry.User);
            insert.Parameters.AddWithValue(Encoding.UTF8.GetString(entry.Data));
            insert.Parameters.AddWithValue(entry.Timestamp);
            insert.Parameters.AddWithValue(due);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (due)
        {
            await NotifyNotificationAsync(connection, entry, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return entry;
    });

    public Task<InboxPage> ListInboxAsync(string user, bool unreadOnly, int limit, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<InboxEntry>();
        await using (var list = new NpgsqlCommand(
            "select id, user_id, data, ts, read from rt_inbox where user_id = $1 and delivered and (not $2 or not read) order by ts desc, id desc limit $3", connection))
        {
            list.Parameters.AddWithValue(user);
            list.Parameters.AddWithValue(unreadOnly);
            list.Parameters.AddWithValue(limit);
            await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(ReadEntry(reader));
            }
        }

        return new InboxPage(items, await CountUnreadAsync(connection, user, cancellationToken).ConfigureAwait(false));
    });

    public Task<int> MarkReadAsync(string user, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var update = new NpgsqlCommand("update rt_inbox set read = true where user_id = $1 and id = any($2) and delivered", connection))
        {
            update.Parameters.AddWithValue(user);
            update.Parameters.AddWithValue(ids.ToArray());
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return await CountUnreadAsync(connection, user, cancellationToken).ConfigureAwait(false);
    });

    public Task<int> CountUnreadAsync(string user, CancellationToken cancellationToken) => Guard(async () =>
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await CountUnreadAsync(connection, user, cancellationToken).ConfigureAwait(false);
    });

    public Task<int> DeliverDueNotificationsAsync(CancellationToken cancellationToken) => Guard(async () =>
    {
        // SKIP LOCKED: even if two nodes ran this at once, each due entry is delivered by one of them.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var due = new List<InboxEntry>();
        await using (var update = new NpgsqlCommand("""
            update rt_inbox set delivered = true where id in (
                select id from rt_inbox where not delivered and ts <= $1 order by ts limit 1000 for update skip locked)
            returning id, user_id, data, ts, read
            """, connection))
        {
            update.Parameters.AddWithValue(Now());
            await using var reader = await update.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                due.Add(ReadEntry(reader));
            }
        }

        foreach (var entry in due.OrderBy(e => e.Timestamp))
        {
            await NotifyNotificationAsync(connection, entry, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return due.Count;
    });

    private static async Task NotifyNotificationAsync(NpgsqlConnection connection, InboxEntry entry, CancellationToken cancellationToken)
    {
        var payload = EventCodec.Encode(new NotificationEvent(entry));
        var key = StreamKey.ForUser(entry.User);
        await NotifyAsync(connection, key, EventCodec.FitsInline(payload) ? payload : EventCodec.NotificationReference(entry.User, entry.Id), cancellationToken)
            .ConfigureAwait(false);
    }

    private static async Task<int> CountUnreadAsync(NpgsqlConnection connection, string user, CancellationToken cancellationToken)
    {
        await using var count = new NpgsqlCommand("select count(*) from rt_inbox where user_id = $1 and delivered and not read", connection);
        count.Parameters.AddWithValue(user);
        return (int)(long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task<InboxEntry?> ReadEntryAsync(NpgsqlConnection connection, string id, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("select id, user_id, data, ts, read from rt_inbox where id = $1", connection);
        select.Parameters.AddWithValue(id);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadEntry(reader) : null;
    }

    private static InboxEntry ReadEntry(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), Encoding.UTF8.GetBytes(reader.GetString(2)), reader.GetFieldValue<DateTimeOffset>(3), reader.GetBoolean(4));
}
