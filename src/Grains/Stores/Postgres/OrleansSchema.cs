namespace Realtime.Grains.Stores.Postgres;

/// <summary>
/// The PostgreSQL objects that Orleans' ADO.NET providers (invariant <c>Npgsql</c>) expect to find: the
/// <c>OrleansQuery</c> catalogue they load their SQL from at start-up, and the tables and functions behind it for
/// clustering, grain storage and reminders.
/// <para>
/// Why it lives here: the NuGet packages ship no SQL; the Orleans repository keeps install scripts and migrations
/// per provider and database. This is the end state of those scripts (install plus every migration) written out
/// for a fresh database, and it matches what Microsoft.Orleans.Clustering.AdoNet, Persistence.AdoNet and
/// Reminders.AdoNet 10.4.2 read: every query key, every parameter name they bind and every column they read by name.
/// </para>
/// <para>
/// Table, column and function names (and function argument names) are Orleans' own, so that a later upstream
/// script can be compared with, and mostly applied to, this one. Where the text differs from upstream it says why.
/// </para>
/// <para>
/// Upgrading Orleans: never edit <see cref="Version10_4"/> (databases have run it). Diff the repository's
/// <c>src/AdoNet/**/PostgreSQL-*.sql</c> and the providers' query keys and parameters between the two tags, then
/// add a new constant (alter tables, <c>create or replace</c> functions, <c>update OrleansQuery</c> texts) and
/// append it to <see cref="PostgresSchema"/>'s migrations. Providers read the catalogue once at start-up: roll the
/// silos after the migration.
/// </para>
/// </summary>
internal static class OrleansSchema
{
    /// <summary>Orleans 10.4.2's tables, functions and stored queries for clustering, grain storage and reminders on PostgreSQL.</summary>
    public const string Version10_4 = """
        -- ============================================================================================
        -- The query catalogue. Each provider loads its texts from here when it starts and binds its
        -- parameters by name (@Name); the columns it reads back are found by name, case-insensitively.
        -- Query texts are dollar-quoted ($q$) so they read as plain SQL.
        -- ============================================================================================
        create table OrleansQuery
        (
            QueryKey varchar(64) not null,
            QueryText varchar(8000) not null,
            constraint OrleansQuery_Key primary key (QueryKey)
        );

        -- ============================================================================================
        -- Clustering (membership). Every change to a silo's row claims the next table version first:
        -- Orleans' membership protocol relies on a write failing when the version it read is stale.
        -- Status codes are Orleans' SiloStatus: 3 = Active, 6 = Dead.
        -- Times are timestamptz: Npgsql sends Orleans' UTC DateTime parameters as timestamptz, so the
        -- session's TimeZone never shifts them.
        -- ============================================================================================
        create table OrleansMembershipVersionTable
        (
            DeploymentId varchar(150) not null,
            Timestamp timestamptz(3) not null default now(),
            Version integer not null default 0,
            constraint PK_OrleansMembershipVersionTable_DeploymentId primary key (DeploymentId)
        );

        create table OrleansMembershipTable
        (
            DeploymentId varchar(150) not null,
            Address varchar(45) not null,
            Port integer not null,
            Generation integer not null,
            SiloName varchar(150) not null,
            HostName varchar(150) not null,
            Status integer not null,
            ProxyPort integer null,
            SuspectTimes varchar(8000) null,   -- votes: "silo,time|silo,time", written by the voters
            StartTime timestamptz(3) not null,
            IAmAliveTime timestamptz(3) not null,
            constraint PK_MembershipTable_DeploymentId primary key (DeploymentId, Address, Port, Generation),
            constraint FK_MembershipTable_MembershipVersionTable_DeploymentId
                foreign key (DeploymentId) references OrleansMembershipVersionTable (DeploymentId)
        );

        -- Adds a silo's row under the version it read. Returns 1, or 0 when the version moved on or the
        -- row exists already; in that case nothing is left changed (the inner block is undone).
        create function insert_membership(
            DeploymentIdArg varchar, AddressArg varchar, PortArg integer, GenerationArg integer,
            SiloNameArg varchar, HostNameArg varchar, StatusArg integer, ProxyPortArg integer,
            StartTimeArg timestamptz, IAmAliveTimeArg timestamptz, VersionArg integer)
        returns table (row_count integer)
        language plpgsql as $$
        declare
            changed integer;
        begin
            begin
                update OrleansMembershipVersionTable
                set Version = Version + 1, Timestamp = now()
                where DeploymentId = DeploymentIdArg and Version = VersionArg;
                get diagnostics changed = row_count;
                if changed = 0 then
                    return query select 0;
                    return;
                end if;

                insert into OrleansMembershipTable
                    (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
                values
                    (DeploymentIdArg, AddressArg, PortArg, GenerationArg, SiloNameArg, HostNameArg, StatusArg, ProxyPortArg,
                     StartTimeArg, IAmAliveTimeArg)
                on conflict (DeploymentId, Address, Port, Generation) do nothing;
                get diagnostics changed = row_count;
                if changed = 0 then
                    raise exception 'membership row exists already' using errcode = 'OR001';
                end if;

                return query select 1;
            exception when sqlstate 'OR001' then
                -- gives the version back as well
                return query select 0;
            end;
        end
        $$;

        -- Changes a silo's status and suspicion votes under the version it read; 1 or 0 as above. The
        -- heartbeat never moves backwards: a voter passes the IAmAliveTime it read, which may be older
        -- than the silo's latest heartbeat.
        create function update_membership(
            DeploymentIdArg varchar, AddressArg varchar, PortArg integer, GenerationArg integer,
            StatusArg integer, SuspectTimesArg varchar, IAmAliveTimeArg timestamptz, VersionArg integer)
        returns table (row_count integer)
        language plpgsql as $$
        declare
            changed integer;
        begin
            begin
                update OrleansMembershipVersionTable
                set Version = Version + 1, Timestamp = now()
                where DeploymentId = DeploymentIdArg and Version = VersionArg;
                get diagnostics changed = row_count;
                if changed = 0 then
                    return query select 0;
                    return;
                end if;

                update OrleansMembershipTable
                set Status = StatusArg,
                    SuspectTimes = SuspectTimesArg,
                    IAmAliveTime = greatest(IAmAliveTime, IAmAliveTimeArg)
                where DeploymentId = DeploymentIdArg and Address = AddressArg
                  and Port = PortArg and Generation = GenerationArg;
                get diagnostics changed = row_count;
                if changed = 0 then
                    raise exception 'membership row not found' using errcode = 'OR001';
                end if;

                return query select 1;
            exception when sqlstate 'OR001' then
                return query select 0;
            end;
        end
        $$;

        insert into OrleansQuery (QueryKey, QueryText) values
        -- The first silo of a cluster creates its version row; 1 if this call did, else 0.
        ('InsertMembershipVersionKey', $q$
            with added as (
                insert into OrleansMembershipVersionTable (DeploymentId) values (@DeploymentId)
                on conflict (DeploymentId) do nothing
                returning 1)
            select count(*) from added;
        $q$),
        ('InsertMembershipKey', $q$
            select * from insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
        $q$),
        ('UpdateMembershipKey', $q$
            select * from update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                @IAmAliveTime, @Version);
        $q$),
        -- The heartbeat: the silo's own row only, no version change (Orleans checks no result).
        ('UpdateIAmAlivetimeKey', $q$
            update OrleansMembershipTable
            set IAmAliveTime = greatest(IAmAliveTime, @IAmAliveTime)
            where DeploymentId = @DeploymentId and Address = @Address and Port = @Port and Generation = @Generation;
        $q$),
        -- Reads return the version row even without silo rows (left join), in one statement so the rows
        -- and the version come from one snapshot.
        ('MembershipReadRowKey', $q$
            select v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
                   m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
            from OrleansMembershipVersionTable v
            left join OrleansMembershipTable m
                on m.DeploymentId = v.DeploymentId
               and m.Address = @Address and m.Port = @Port and m.Generation = @Generation
            where v.DeploymentId = @DeploymentId;
        $q$),
        ('MembershipReadAllKey', $q$
            select v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
                   m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
            from OrleansMembershipVersionTable v
            left join OrleansMembershipTable m on m.DeploymentId = v.DeploymentId
            where v.DeploymentId = @DeploymentId;
        $q$),
        -- Clients find gateways here: active silos that listen for clients (@Status is Active).
        ('GatewaysQueryKey', $q$
            select Address, ProxyPort, Generation
            from OrleansMembershipTable
            where DeploymentId = @DeploymentId and Status = @Status and ProxyPort > 0;
        $q$),
        ('DeleteMembershipTableEntriesKey', $q$
            delete from OrleansMembershipTable where DeploymentId = @DeploymentId;
            delete from OrleansMembershipVersionTable where DeploymentId = @DeploymentId;
        $q$),
        -- Pruning dead silos' rows. 10.4.2 uses the per-row key below when it is present: it reads the
        -- table, picks Dead rows whose start, heartbeat and votes are all older than the cut-off, and
        -- deletes each only if it still holds the values it read. The bulk key is still required at
        -- start-up (and is what a provider without the per-row key runs); it applies the same rule.
        -- Every Dead row carries votes (a graceful stop records the silo's own), so the vote times
        -- ("silo,yyyy-MM-dd HH:mm:ss.fff GMT" joined by |) are read, not just their absence.
        -- Neither changes the version: dead rows play no further part in membership.
        ('CleanupDefunctSiloEntryKey', $q$
            delete from OrleansMembershipTable
            where DeploymentId = @DeploymentId and Address = @Address and Port = @Port and Generation = @Generation
              and Status = 6
              and StartTime = @StartTime and IAmAliveTime = @IAmAliveTime
              and coalesce(SuspectTimes, '') = coalesce(@SuspectTimes, '');
        $q$),
        ('CleanupDefunctSiloEntriesKey', $q$
            delete from OrleansMembershipTable
            where DeploymentId = @DeploymentId
              and Status = 6
              and IAmAliveTime < @IAmAliveTime and StartTime < @IAmAliveTime
              and not exists (
                  select 1 from unnest(string_to_array(SuspectTimes, '|')) as vote
                  where split_part(vote, ',', 2)::timestamptz >= @IAmAliveTime);
        $q$);

        -- ============================================================================================
        -- Grain storage. A grain's state is found by hashes of its key and state name plus the full
        -- values (hashes collide); the version is the ETag, and every write names the version it read.
        -- Note: the state name, not the grain class, is stored, so two grain classes that share a state
        -- name and a key share one row.
        -- ============================================================================================
        create table OrleansStorage
        (
            GrainIdHash integer not null,
            GrainIdN0 bigint not null,
            GrainIdN1 bigint not null,
            GrainTypeHash integer not null,
            GrainTypeString varchar(512) not null,     -- the state name
            GrainIdExtensionString varchar(512) null,  -- a string key, or a compound key's extension
            ServiceId varchar(150) not null,
            PayloadBinary bytea null,                  -- null once cleared
            ModifiedOn timestamptz not null,
            Version integer null
        );

        -- Unique where upstream's index is not: two activations writing a first state at once would
        -- otherwise both insert, and every later read of that grain would fail on two rows. Its leading
        -- columns serve the lookups.
        create unique index ix_orleansstorage on OrleansStorage
            (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId, GrainTypeString, (coalesce(GrainIdExtensionString, '')));

        -- Returns the new version, or the version passed in when nothing was written (a stale ETag, or
        -- a first write that lost to another), which Orleans reports as an InconsistentStateException.
        create function writetostorage(
            _grainidhash integer, _grainidn0 bigint, _grainidn1 bigint, _graintypehash integer,
            _graintypestring varchar, _grainidextensionstring varchar, _serviceid varchar,
            _grainstateversion integer, _payloadbinary bytea)
        returns table (newgrainstateversion integer)
        language plpgsql as $$
        declare
            written integer;
        begin
            if _grainstateversion is null then
                -- first write of this state
                insert into OrleansStorage as s
                    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
                     ServiceId, PayloadBinary, ModifiedOn, Version)
                values
                    (_grainidhash, _grainidn0, _grainidn1, _graintypehash, _graintypestring, _grainidextensionstring,
                     _serviceid, _payloadbinary, now(), 1)
                on conflict (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId, GrainTypeString,
                             (coalesce(GrainIdExtensionString, '')))
                do nothing
                returning s.Version into written;
            else
                update OrleansStorage as s
                set PayloadBinary = _payloadbinary, ModifiedOn = now(), Version = s.Version + 1
                where s.GrainIdHash = _grainidhash and s.GrainTypeHash = _graintypehash
                  and s.GrainIdN0 = _grainidn0 and s.GrainIdN1 = _grainidn1
                  and s.GrainTypeString = _graintypestring
                  and s.GrainIdExtensionString is not distinct from _grainidextensionstring
                  and s.ServiceId = _serviceid
                  and s.Version = _grainstateversion
                returning s.Version into written;
            end if;
            return query select coalesce(written, _grainstateversion);
        end
        $$;

        insert into OrleansQuery (QueryKey, QueryText) values
        ('ReadFromStorageKey', $q$
            select PayloadBinary, Version
            from OrleansStorage
            where GrainIdHash = @GrainIdHash and GrainTypeHash = @GrainTypeHash
              and GrainIdN0 = @GrainIdN0 and GrainIdN1 = @GrainIdN1
              and GrainTypeString = @GrainTypeString
              and GrainIdExtensionString is not distinct from @GrainIdExtensionString
              and ServiceId = @ServiceId;
        $q$),
        ('WriteToStorageKey', $q$
            select * from writetostorage(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
                @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);
        $q$),
        -- ClearStateAsync keeps the row with no payload and a new version (no row returned = stale ETag).
        ('ClearStorageKey', $q$
            update OrleansStorage
            set PayloadBinary = null, ModifiedOn = now(), Version = Version + 1
            where GrainIdHash = @GrainIdHash and GrainTypeHash = @GrainTypeHash
              and GrainIdN0 = @GrainIdN0 and GrainIdN1 = @GrainIdN1
              and GrainTypeString = @GrainTypeString
              and GrainIdExtensionString is not distinct from @GrainIdExtensionString
              and ServiceId = @ServiceId
              and Version = @GrainStateVersion
            returning Version as NewGrainStateVersion;
        $q$),
        -- ... or, with DeleteStateOnClear, removes it; it answers version + 1 so Orleans sees a change.
        ('DeleteStorageKey', $q$
            delete from OrleansStorage
            where GrainIdHash = @GrainIdHash and GrainTypeHash = @GrainTypeHash
              and GrainIdN0 = @GrainIdN0 and GrainIdN1 = @GrainIdN1
              and GrainTypeString = @GrainTypeString
              and GrainIdExtensionString is not distinct from @GrainIdExtensionString
              and ServiceId = @ServiceId
              and Version = @GrainStateVersion
            returning Version + 1 as NewGrainStateVersion;
        $q$);

        -- ============================================================================================
        -- Reminders. One row per grain and reminder name; Version is the ETag. GrainHash places the
        -- grain on the silos' hash ring: each silo reads the reminders of its own range.
        -- ============================================================================================
        create table OrleansRemindersTable
        (
            ServiceId varchar(150) not null,
            -- "type/key": 512 where upstream has 150, because user grains are keyed by a token's
            -- subject of up to 200 characters
            GrainId varchar(512) not null,
            ReminderName varchar(150) not null,
            StartTime timestamptz(3) not null,
            Period bigint not null,            -- milliseconds
            GrainHash integer not null,        -- Orleans' uint hash, stored signed
            Version integer not null,
            constraint PK_RemindersTable_ServiceId_GrainId_ReminderName primary key (ServiceId, GrainId, ReminderName)
        );

        -- Each silo re-reads its range periodically and whenever the ring changes.
        create index ix_orleansreminderstable_grainhash on OrleansRemindersTable (ServiceId, GrainHash);

        insert into OrleansQuery (QueryKey, QueryText) values
        ('UpsertReminderRowKey', $q$
            insert into OrleansRemindersTable as r
                (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
            values (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
            on conflict (ServiceId, GrainId, ReminderName) do update
            set StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash,
                Version = r.Version + 1
            returning r.Version;
        $q$),
        ('ReadReminderRowsKey', $q$
            select GrainId, ReminderName, StartTime, Period, Version
            from OrleansRemindersTable
            where ServiceId = @ServiceId and GrainId = @GrainId;
        $q$),
        ('ReadReminderRowKey', $q$
            select GrainId, ReminderName, StartTime, Period, Version
            from OrleansRemindersTable
            where ServiceId = @ServiceId and GrainId = @GrainId and ReminderName = @ReminderName;
        $q$),
        -- A range (begin, end] of the ring when begin < end (as signed integers) ...
        ('ReadRangeRows1Key', $q$
            select GrainId, ReminderName, StartTime, Period, Version
            from OrleansRemindersTable
            where ServiceId = @ServiceId and GrainHash > @BeginHash and GrainHash <= @EndHash;
        $q$),
        -- ... or one that wraps around.
        ('ReadRangeRows2Key', $q$
            select GrainId, ReminderName, StartTime, Period, Version
            from OrleansRemindersTable
            where ServiceId = @ServiceId and (GrainHash > @BeginHash or GrainHash <= @EndHash);
        $q$),
        -- 1 if removed, 0 if the ETag is stale or the reminder is gone.
        ('DeleteReminderRowKey', $q$
            with removed as (
                delete from OrleansRemindersTable
                where ServiceId = @ServiceId and GrainId = @GrainId and ReminderName = @ReminderName
                  and Version = @Version
                returning 1)
            select count(*) from removed;
        $q$),
        ('DeleteReminderRowsKey', $q$
            delete from OrleansRemindersTable where ServiceId = @ServiceId;
        $q$);
        """;
}
