using System.Globalization;

namespace Realtime.Bench.SoakDriver;

/// <summary>Command-line options: <c>--url</c> and <c>--secret</c> are required, the rest have defaults.</summary>
internal sealed record SoakOptions(Uri Url, string Secret, int Connections, int Channels, int Rate, double Minutes, int SampleSeconds, string Csv,
    int? NodePid, int HistorySize)
{
    public const string Usage = """
        usage: SoakDriver --url http://127.0.0.1:5000 --secret <jwt secret>
                          [--connections 10000] [--channels 100] [--rate 50] [--minutes 10] [--sample 10] [--csv soak.csv]
                          [--pid <node pid, to measure its live set after full collections>] [--history-size 100]
        """;

    public Uri WebSocketUri => new($"ws://{Url.Authority}/ws");

    /// <summary>
    /// When the node's memory should have stopped growing: a minute in, and not before every channel's
    /// history is full (until then the live set grows by design).
    /// </summary>
    public double SettledSeconds => Math.Max(60, (double)Channels * HistorySize / Math.Max(1, Rate) + 2 * SampleSeconds);

    public static SoakOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value, got '{args[i]}'");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string Get(string name, string? fallback = null) =>
            values.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

        return new SoakOptions(
            new Uri(Get("url")),
            Get("secret"),
            Int("connections", 10_000),
            Int("channels", 100),
            Int("rate", 50),
            double.Parse(Get("minutes", "10"), CultureInfo.InvariantCulture),
            Int("sample", 10),
            Get("csv", "soak.csv"),
            values.TryGetValue("pid", out var pid) ? int.Parse(pid, CultureInfo.InvariantCulture) : null,
            Int("history-size", 100));
    }
}
