using System.Diagnostics;
using Npgsql;

namespace Realtime.Testing;

/// <summary>
/// A private PostgreSQL server for tests: initdb into a temp folder and pg_ctl on a free loopback
/// port, from the Debian <c>postgresql</c> package (./test.sh installs it). It never skips: without
/// the binaries the test fails and says how to get them. Can be stopped, killed and started again
/// on the same port and data, for outage tests.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _data;

    private PostgresServer(string bin, string data, int port)
    {
        _bin = bin;
        _data = data;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=3;Command Timeout=30";

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries();
        var data = Path.Combine(Path.GetTempPath(), $"realtime-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        if (Environment.UserName == "root")
        {
            // initdb refuses to run as root: hand the folder to the postgres account and run as it.
            await RunAsync("chown", ["postgres:postgres", data]);
        }

        var server = new PostgresServer(bin, data, LoopbackPorts.Free());
        await server.RunAsPostgresAsync("initdb", ["-D", Path.Combine(data, "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"rt_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"create database {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public Task StartAgainAsync() => RunAsPostgresAsync("pg_ctl",
    [
        "-D", Path.Combine(_data, "db"), "-l", Path.Combine(_data, "log"), "-w", "-t", "30",
        "-o", $"-p {Port} -k {_data} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=400",
        "start",
    ]);

    /// <summary>
    /// Ends the server sessions that match <paramref name="where"/> (a condition on <c>pg_stat_activity</c>, run in
    /// the database of <paramref name="connectionString"/>), as an administrator or a failover would; returns how many.
    /// </summary>
    public static async Task<long> TerminateSessionsAsync(string connectionString, string where)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select count(pg_terminate_backend(pid)) from pg_stat_activity where pid <> pg_backend_pid() and {where}", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Stops the server at once, as a crash would (acknowledged commits survive: fsync is only off for the OS).</summary>
    public Task KillAsync() => RunAsPostgresAsync("pg_ctl", ["-D", Path.Combine(_data, "db"), "-m", "immediate", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsPostgresAsync("pg_ctl", ["-D", Path.Combine(_data, "db"), "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // already stopped by the test
        }

        Directory.Delete(_data, recursive: true);
    }

    private Task RunAsPostgresAsync(string tool, IReadOnlyList<string> args) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args])
            : RunAsync(Path.Combine(_bin, tool), args);

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run ./test.sh, which installs the Debian 'postgresql' package");
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({process.ExitCode}): {await errors}{await output}");
        }
    }
}
