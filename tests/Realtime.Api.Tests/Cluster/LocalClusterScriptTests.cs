using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Testing;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Cluster;

/// <summary>deploy/local-cluster.sh as a user runs it: start, use through nginx, stop, nothing left behind.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LocalClusterScriptTests(ITestOutputHelper output)
{
    private static readonly string Script = FindScript();

    [Fact]
    public async Task The_local_cluster_script_serves_through_nginx_and_its_stop_leaves_no_process_and_no_port_behind()
    {
        // Not CreateTempSubdirectory (mode 700): as root, the script runs PostgreSQL as the postgres account,
        // which must reach the state folder.
        var state = Path.Combine(Path.GetTempPath(), $"realtime-local-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(state);
        // The nodes this project already built, instead of the script's own publish (a minute or more on two cores).
        Directory.CreateSymbolicLink(Path.Combine(state, "app"), AppContext.BaseDirectory);
        var ports = LoopbackPorts.Free(6);
        var entry = new Uri($"http://127.0.0.1:{ports[0]}/");
        var clients = new List<TestClient>();
        var pids = new Dictionary<string, int>();
        try
        {
            var started = await RunScriptAsync(TimeSpan.FromSeconds(150), "start", "--state-dir", state, "--no-build",
                "--port", $"{ports[0]}", "--node-ports", $"{ports[1]},{ports[2]},{ports[3]},{ports[4]}", "--pg-port", $"{ports[5]}",
                "--jwt-secret", RealtimeServer.Secret, "--api-key", RealtimeServer.ApiKey);
            Assert.Contains($"entry (nginx, round-robin)  {entry.ToString().TrimEnd('/')} ", started);
            pids = ReadPids(state);
            Assert.Equal(["nginx", "node-a", "node-b", "postgres", "silo-a", "silo-b"], pids.Keys.Order());

            // Round-robin: two sockets in a row land on the two Api nodes.
            var nodes = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var client = await TestClient.OpenAsync(new Uri($"ws://{entry.Authority}/ws?token={RealtimeServer.Token($"script{i}")}"));
                clients.Add(client);
                nodes.Add((await client.CallAsync(new { type = "connect" })).GetProperty("node").GetString()!);
                await client.CallAsync(new { type = "subscribe", channel = "chat:script" });
            }

            Assert.Equal(2, nodes.Distinct().Count());
            using var http = new HttpClient { BaseAddress = entry };
            http.DefaultRequestHeaders.Add("X-Api-Key", RealtimeServer.ApiKey);
            using (var response = await http.PostAsJsonAsync("/api/channels/chat:script/messages", new { data = new { text = "through nginx" } }))
            {
                response.EnsureSuccessStatusCode();
            }

            foreach (var client in clients)
            {
                var message = await client.NextPushAsync("message");
                Assert.Equal("through nginx", message.GetProperty("data").GetProperty("text").GetString());
            }

            var stopped = await RunScriptAsync(TimeSpan.FromSeconds(45), "stop", "--state-dir", state);
            Assert.Contains("everything stopped", stopped);
            Assert.DoesNotContain("did not stop", stopped); // each part stopped on its signal, none needed the SIGKILL after 30 s
            foreach (var client in clients)
            {
                // The nodes stop before nginx, so their goodbye still reaches the clients through it.
                Assert.Equal((WebSocketCloseStatus)4010, await client.WaitClosedAsync());
            }

            // pg_ctl stop returns once the postmaster has removed its pid file, moments before it exits: a moment of grace.
            for (var grace = Stopwatch.StartNew(); StillRunning(pids).Count > 0 && grace.Elapsed < TimeSpan.FromSeconds(2);)
            {
                await Task.Delay(50);
            }

            Assert.Empty(StillRunning(pids));
            foreach (var port in ports)
            {
                Assert.False(await AcceptsAsync(port), $"something still listens on port {port}");
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            if (pids.Count == 0 && Directory.Exists(Path.Combine(state, "run")))
            {
                pids = ReadPids(state); // a start that failed or timed out
            }

            try
            {
                // Stops whatever a failed run left and deletes the state folder (the app link, not what it points to).
                await RunScriptAsync(TimeSpan.FromSeconds(60), "clean", "--state-dir", state);
            }
            finally
            {
                // A script whose stop is broken must not leave its processes to the next test either.
                foreach (var leftover in StillRunning(pids))
                {
                    output.WriteLine($"killing {leftover.Key} (pid {leftover.Value}), left by the script");
                    Process.Start("kill", ["-KILL", $"{leftover.Value}"]).WaitForExit();
                }
            }
        }
    }

    private async Task<string> RunScriptAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"local-cluster.sh {arguments[0]} did not finish within {timeout}");
        }

        var text = await stdout + await stderr;
        output.WriteLine($"local-cluster.sh {arguments[0]}: exit {process.ExitCode} after {clock.Elapsed.TotalSeconds:F1} s\n{text}");
        Assert.True(process.ExitCode == 0, $"local-cluster.sh {arguments[0]} exited with {process.ExitCode}:\n{text}");
        return text;
    }

    private static Dictionary<string, int> ReadPids(string state) =>
        Directory.GetFiles(Path.Combine(state, "run"), "*.pid").ToDictionary(
            f => Path.GetFileNameWithoutExtension(f), f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture));

    // A zombie counts as gone: it holds no port or file, and reaping it is its parent's business (here often PID 1).
    private static List<KeyValuePair<string, int>> StillRunning(Dictionary<string, int> pids) =>
        pids.Where(p => File.Exists($"/proc/{p.Value}/stat") && !IsZombie(p.Value)).ToList();

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true; // gone while we looked
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string FindScript()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var script = Path.Combine(folder.FullName, "deploy", "local-cluster.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        throw new InvalidOperationException($"deploy/local-cluster.sh not found above {AppContext.BaseDirectory}");
    }
}
