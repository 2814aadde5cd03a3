using System.Globalization;

namespace Realtime.Bench.ClusterProbe;

/// <summary>Command-line settings. Subscribers connect to <see cref="NodeA"/>, publishers to <see cref="NodeB"/>.</summary>
internal sealed record ProbeOptions(
    Uri NodeA, Uri NodeB, string Secret, int Subscribers, int Messages, int Publishers, int PayloadBytes, TimeSpan Timeout)
{
    public const string Usage = """
        usage: ClusterProbe --a <node A url> [--b <node B url>] --secret <jwt secret>
                            [--subscribers 100] [--messages 10000] [--publishers 8] [--payload 0] [--timeout 60]
          --a, --b       base URLs (http://127.0.0.1:5101); give the nginx URL as --a alone to go through it
          --secret       Realtime:Auth:JwtSecret of the cluster (or REALTIME_JWT_SECRET)
          --payload      extra bytes of padding in each message's data
          --timeout      seconds to wait for deliveries after the last publish is acknowledged
        """;

    public static ProbeOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--name value', got '{args[i]}'");
            }

            values[args[i][2..]] = args[i + 1];
        }

        var a = values.TryGetValue("a", out var url) ? new Uri(url) : throw new ArgumentException("--a is required");
        var secret = values.GetValueOrDefault("secret") ?? Environment.GetEnvironmentVariable("REALTIME_JWT_SECRET")
            ?? throw new ArgumentException("--secret (or REALTIME_JWT_SECRET) is required");
        var options = new ProbeOptions(
            a,
            values.TryGetValue("b", out var b) ? new Uri(b) : a,
            secret,
            Int(values, "subscribers", 100),
            Int(values, "messages", 10_000),
            Int(values, "publishers", 8),
            Int(values, "payload", 0),
            TimeSpan.FromSeconds(Int(values, "timeout", 60)));
        return options is { Subscribers: > 0, Messages: > 0, Publishers: > 0, PayloadBytes: >= 0 }
            ? options
            : throw new ArgumentException("--subscribers, --messages and --publishers must be positive");
    }

    /// <summary>The socket URL of a node, with a token on the query string.</summary>
    public static Uri Socket(Uri node, string token)
    {
        var builder = new UriBuilder(node) { Path = "/ws", Query = $"token={token}" };
        builder.Scheme = builder.Scheme == "https" ? "wss" : "ws";
        return builder.Uri;
    }

    private static int Int(Dictionary<string, string> values, string name, int fallback) =>
        values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
