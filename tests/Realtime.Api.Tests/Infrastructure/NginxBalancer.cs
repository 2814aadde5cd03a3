using System.Diagnostics;
using Realtime.Testing;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// Debian's nginx as a plain round-robin load balancer in front of a <see cref="TestCluster"/>: no
/// stickiness, so consecutive connections land on different nodes. ./test.sh installs nginx.
/// </summary>
public sealed class NginxBalancer : IAsyncDisposable
{
    private const string Binary = "/usr/sbin/nginx";
    private readonly Process _process;
    private readonly string _prefix;

    private NginxBalancer(Process process, string prefix, int port)
    {
        _process = process;
        _prefix = prefix;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri BaseUri { get; }

    public Uri WebSocketUri => new($"ws://{BaseUri.Authority}/ws");

    public static async Task<NginxBalancer> StartAsync(IEnumerable<TestNode> nodes)
    {
        Assert.True(File.Exists(Binary), $"{Binary} not found: run ./test.sh, which installs the Debian 'nginx' package");
        var prefix = Path.Combine(Path.GetTempPath(), $"realtime-nginx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(prefix);
        var port = LoopbackPorts.Free();

        var upstreams = string.Join("\n", nodes.Select(n => $"    server {n.BaseUri.Authority};"));
        var config = $$"""
            {{(Environment.UserName == "root" ? "user root;" : "")}}
            worker_processes 1;
            error_log {{prefix}}/error.log warn;
            pid {{prefix}}/nginx.pid;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              upstream realtime {
            {{upstreams}}
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://realtime;
                  proxy_http_version 1.1;
                  proxy_set_header Upgrade $http_upgrade;
                  proxy_set_header Connection "upgrade";
                  proxy_set_header Host $host;
                  proxy_read_timeout 1h;
                }
              }
            }
            """;
        var file = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(file, config);
        var process = Process.Start(new ProcessStartInfo(Binary, ["-p", prefix, "-c", file, "-g", "daemon off;"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var balancer = new NginxBalancer(process, prefix, port);
        using var http = new HttpClient();
        await Eventually.TrueAsync(async () =>
        {
            Assert.False(process.HasExited, $"nginx exited: {await process.StandardError.ReadToEndAsync()}");
            try
            {
                using var response = await http.GetAsync(new Uri(balancer.BaseUri, "/health/live"));
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "nginx answers");
        return balancer;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        Directory.Delete(_prefix, recursive: true);
        return ValueTask.CompletedTask;
    }
}
