using System.Diagnostics;
using Realtime.Testing;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// A cluster of real processes on one PostgreSQL database: co-hosted Api nodes (each a silo and a front end), or
/// silos (<c>Realtime.Silo</c>) with Api front ends that join them as Orleans clients, each on its own loopback
/// ports. A node can be stopped gracefully or killed outright (SIGKILL), and restarted.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly List<TestNode> _nodes = [];

    private TestCluster(PostgresServer postgres, string connectionString, IDictionary<string, string>? settings)
    {
        Postgres = postgres;
        ConnectionString = connectionString;
        Settings = new Dictionary<string, string>
        {
            ["Realtime__Engine"] = "postgres",
            ["Realtime__Postgres__ConnectionString"] = connectionString,
            ["Realtime__Orleans__AdvertisedIPAddress"] = "127.0.0.1",
            ["Realtime__Auth__JwtSecret"] = RealtimeServer.Secret,
            ["Realtime__Api__Keys__0"] = RealtimeServer.ApiKey,
            ["Realtime__Silo__HeartbeatInterval"] = "00:00:00.500",
            ["Realtime__Silo__NodeTimeout"] = "00:00:05",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Realtime"] = "Information",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            Settings[key] = value;
        }
    }

    public PostgresServer Postgres { get; }

    public string ConnectionString { get; }

    public Dictionary<string, string> Settings { get; }

    public IReadOnlyList<TestNode> Nodes => _nodes;

    public TestNode this[int index] => _nodes[index];

    /// <summary>Starts a private PostgreSQL server (owned by the cluster) and <paramref name="apiNodes"/> Api nodes.</summary>
    public static async Task<TestCluster> StartAsync(int apiNodes, IDictionary<string, string>? settings = null, PostgresServer? postgres = null)
    {
        postgres ??= await PostgresServer.StartAsync();
        var cluster = new TestCluster(postgres, await postgres.CreateDatabaseAsync(), settings);
        for (var i = 0; i < apiNodes; i++)
        {
            await cluster.AddNodeAsync();
        }

        return cluster;
    }

    /// <summary>Starts one more node: an Api node (co-hosting a silo, or with <paramref name="client"/> an Orleans
    /// client of the cluster's silos), or a silo (<c>Realtime.Silo</c>).</summary>
    public async Task<TestNode> AddNodeAsync(bool silo = false, IDictionary<string, string>? settings = null, bool client = false)
    {
        var name = silo ? $"silo-{_nodes.Count}" : $"node-{(char)('a' + _nodes.Count)}";
        if (client)
        {
            settings = new Dictionary<string, string>(settings ?? new Dictionary<string, string>()) { ["Realtime__Orleans__Role"] = "client" };
        }

        var node = new TestNode(name, silo ? "Realtime.Silo.dll" : "Realtime.Api.dll", LoopbackPorts.Free(), Merge(settings, name));
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        // Each node's last output goes to the temp folder, where a failing run can be read afterwards.
        var logs = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "realtime-cluster-logs", DateTime.UtcNow.ToString("HHmmss-fff", System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var node in _nodes)
        {
            node.Kill();
            await File.WriteAllTextAsync(Path.Combine(logs.FullName, node.Name + ".log"), node.RecentOutput);
        }

        await Postgres.DisposeAsync();
    }

    private Dictionary<string, string> Merge(IDictionary<string, string>? extra, string name)
    {
        var merged = new Dictionary<string, string>(Settings) { ["Realtime__NodeId"] = name };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        // Each node's sessions carry its name, so a test can find them in pg_stat_activity.
        merged["Realtime__Postgres__ConnectionString"] += $";Application Name={name}";
        return merged;
    }
}

/// <summary>One node process of a <see cref="TestCluster"/>.</summary>
public sealed class TestNode(string name, string assembly, int port, IReadOnlyDictionary<string, string> environment)
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private Process? _process;

    /// <summary>The process's last few hundred lines of output, for a failing test to show.</summary>
    public string RecentOutput => string.Join("\n", _output);

    public string Name { get; } = name;

    public Uri BaseUri { get; } = new($"http://127.0.0.1:{port}/");

    public Uri WebSocketUri => new($"ws://127.0.0.1:{port}/ws");

    public HttpClient Http { get; } = CreateHttp(port);

    public bool IsRunning => _process is { HasExited: false };

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseUri.ToString().TrimEnd('/'));
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            await Eventually.TrueAsync(IsReadyAsync, $"{Name} is ready", TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{e.Message}\n--- {Name} output ---\n{RecentOutput}", e);
        }
    }

    public async Task<bool> IsReadyAsync()
    {
        Assert.True(IsRunning, $"{Name} exited with code {(_process?.HasExited == true ? _process.ExitCode : 0)}");
        try
        {
            using var response = await Http.GetAsync("/health/ready");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Kills the process at once (SIGKILL): no goodbye to clients, no cleanup in the engine.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    /// <summary>Stops the process gracefully (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public Task<TestClient> ConnectAsync(string user) => TestClient.OpenAsync(new Uri($"{WebSocketUri}?token={RealtimeServer.Token(user)}"));

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 20000 && _output.TryDequeue(out _))
        {
        }
    }

    private static HttpClient CreateHttp(int port)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Add("X-Api-Key", RealtimeServer.ApiKey);
        return http;
    }
}
