using System.Globalization;
using System.Text;

namespace Realtime.Bench.LoadGen.Report;

/// <summary>
/// Writes the results of one bench/run.sh run into docs/benchmarks.md, between the markers
/// <c>&lt;!-- results:begin --&gt;</c> and <c>&lt;!-- results:end --&gt;</c>; text outside them is kept.
/// </summary>
internal static class MarkdownReport
{
    public const string Memory = "realtime-memory";
    public const string Postgres = "realtime-postgres";
    public const string TwoNodes = "realtime-2nodes";
    public const string Cluster = "realtime-cluster";
    public const string SignalRTwoNodes = "signalr-2nodes";

    /// <summary>Systems of several server processes: they get their own table, not the single-node ones.</summary>
    public static readonly string[] MultiNode = [TwoNodes, Cluster, SignalRTwoNodes];
    private const string Begin = "<!-- results:begin -->";
    private const string End = "<!-- results:end -->";

    public static int Write(ReportOptions options)
    {
        var (run, systems) = options.Load();
        var text = new StringBuilder();
        text.AppendLine(Begin);
        text.AppendLine(CultureInfo.InvariantCulture, $"## Results of {run.Started[..10]} ({(run.Quick ? "quick run" : "full run")})");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- **Command:** `{run.Command}` (from {run.Started} to {run.Finished}, commit `{run.Commit}`)");
        text.AppendLine(CultureInfo.InvariantCulture, $"- **Machine:** {string.Join("; ", run.Machine)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- **Load from other processes:** {Quietness(systems)}");
        foreach (var note in run.Notes.Concat(systems.SelectMany(s => s.Notes.Select(n => $"{s.Label}: {n}"))))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        text.AppendLine();
        var tables = new ReportTables(systems, text);
        tables.Targets();
        tables.Idle();
        tables.Fanout();
        tables.Latency();
        tables.Churn();
        tables.TwoNodes();
        tables.Steps();
        Formats(options, text);
        text.AppendLine(End);

        var existing = File.Exists(options.Out) ? File.ReadAllText(options.Out) : "";
        var begin = existing.IndexOf(Begin, StringComparison.Ordinal);
        var end = existing.IndexOf(End, StringComparison.Ordinal);
        var updated = begin >= 0 && end > begin
            ? existing[..begin] + text + existing[(end + End.Length)..].TrimStart('\r', '\n').Insert(0, "\n")
            : existing + (existing.Length > 0 ? "\n" : "") + text;
        File.WriteAllText(options.Out, updated);
        Console.WriteLine($"loadgen: wrote {options.Out}");
        return 0;
    }

    // bench/FormatProbe's table, when the run measured the wire formats.
    private static void Formats(ReportOptions options, StringBuilder text)
    {
        var file = Path.Combine(options.Results, "formats.md");
        if (File.Exists(file))
        {
            text.AppendLine("### Formats and compression");
            text.AppendLine();
            text.AppendLine(File.ReadAllText(file).TrimEnd());
            text.AppendLine();
        }
    }

    // Every step records the CPU the machine spent outside the server and the generator.
    private static string Quietness(List<SystemResult> systems)
    {
        var shares = systems.SelectMany(s => s.Fanout).SelectMany(f => f.Steps.Concat(f.Latency)).Select(s => s.ForeignCpuShare).ToList();
        if (shares.Count == 0)
        {
            return "not measured";
        }

        var worst = shares.Max();
        var mean = shares.Average();
        var verdict = worst <= 0.05 ? "the machine was quiet" : "the machine was **not** fully quiet";
        return string.Create(CultureInfo.InvariantCulture,
            $"{verdict}: other processes used {mean:P1} of one core on average during the measured steps, {worst:P1} at most (machine busy time from /proc/stat minus the server's and the generator's)");
    }
}
