using System.Text;
using Npgsql;
using Realtime.Contracts.Users;

namespace Realtime.Grains.Stores.Postgres;

public sealed partial class PostgresEngine
{
    public Task<InboxAppendResult> AppendInboxAsync(InboxAppend request, CancellationToken cancellationToken) => Guard(async () =>
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
                return new InboxAppendResult(await ReadEntryAsync(connection, earlierId, cancellationToken).ConfigureAwait(false) ?? entry with { Id = earlierId }, Duplicate: true);
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

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new InboxAppendResult(entry, Duplicate: false, Scheduled: !due);
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

    public Task<DueNotifications> DeliverDueAsync(string user, CancellationToken cancellationToken) => Guard(async () =>
    {
        // One statement marks the due entries delivered and returns them, so two callers racing (a reminder
        // and a timer, or a duplicate activation) each get a disjoint part and none is pushed twice.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var due = new List<InboxEntry>();
        await using (var update = new NpgsqlCommand("""
            update rt_inbox set delivered = true where id in (
                select id from rt_inbox where user_id = $1 and not delivered and ts <= $2 order by ts for update skip locked)
            returning id, user_id, data, ts, read
            """, connection))
        {
            update.Parameters.AddWithValue(user);
            update.Parameters.AddWithValue(Now());
            await using var reader = await update.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                due.Add(ReadEntry(reader));
            }
        }

        await using var next = new NpgsqlCommand("select min(ts) from rt_inbox where user_id = $1 and not delivered", connection);
        next.Parameters.AddWithValue(user);
        var nextDue = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return new DueNotifications(due.OrderBy(e => e.Timestamp).ToArray(), nextDue is DateTimeOffset at ? at : nextDue is DateTime utc ? new DateTimeOffset(utc, TimeSpan.Zero) : null);
    });

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
