using Npgsql;

namespace Realtime.Grains.Stores.Postgres;

/// <summary>
/// The store's tables and Orleans' own (clustering, grain storage, reminders), created or migrated at
/// start-up under an advisory lock so that nodes starting together do not race. Each migration runs
/// once in its own transaction; the version table records it, so a later release (or a later Orleans)
/// adds a migration instead of editing one.
/// </summary>
internal static class PostgresSchema
{
    public const long MigrationLock = 0x5265616c74696d65; // "Realtime"

    private static readonly string[] Migrations =
    [
        """
        create table rt_channels (
            channel text primary key,
            epoch text not null,
            top bigint not null,
            history_size int not null,
            history_ttl_ms bigint not null);
        create table rt_messages (
            channel text not null,
            "offset" bigint not null,
            sender text,
            data text not null,
            ts timestamptz not null,
            primary key (channel, "offset"));
        create index rt_messages_ts on rt_messages (ts);
        create table rt_idempotency (
            scope text not null,
            key text not null,
            result text not null,
            expires_at timestamptz not null,
            primary key (scope, key));
        create table rt_inbox (
            id text primary key,
            user_id text not null,
            data text not null,
            ts timestamptz not null,
            delivered boolean not null,
            read boolean not null default false);
        create index rt_inbox_user on rt_inbox (user_id, ts desc) where delivered;
        create index rt_inbox_due on rt_inbox (ts) where not delivered;
        create table rt_presence (
            channel text not null,
            client text not null,
            user_id text not null,
            node text not null,
            primary key (channel, client));
        create index rt_presence_node on rt_presence (node);
        create table rt_nodes (
            node text primary key,
            last_seen timestamptz not null,
            connections int not null,
            channels int not null);
        create table rt_payloads (
            id bigserial primary key,
            payload text not null,
            created_at timestamptz not null default now());
        """,
        // Presence, node heartbeats, leadership and LISTEN/NOTIFY spill rows moved to Orleans (grain state,
        // membership, reminders, streams).
        """
        drop table rt_presence;
        drop table rt_nodes;
        drop table rt_payloads;
        """,
        OrleansSchema.Version10_4,
    ];

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await Execute(connection, $"select pg_advisory_lock({MigrationLock})", cancellationToken).ConfigureAwait(false);
        try
        {
            await Execute(connection, "create table if not exists rt_schema (version int primary key)", cancellationToken).ConfigureAwait(false);
            await using var read = new NpgsqlCommand("select coalesce(max(version), 0) from rt_schema", connection);
            var version = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            for (var next = version; next < Migrations.Length; next++)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await Execute(connection, Migrations[next], cancellationToken).ConfigureAwait(false);
                await Execute(connection, $"insert into rt_schema (version) values ({next + 1})", cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await Execute(connection, $"select pg_advisory_unlock({MigrationLock})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
