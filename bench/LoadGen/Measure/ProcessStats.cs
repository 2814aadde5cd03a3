using System.Globalization;
using System.Text.RegularExpressions;

namespace Realtime.Bench.LoadGen.Measure;

/// <summary>
/// The server side as /proc sees it: resident memory of the server process (VmRSS) and CPU time of the
/// server processes, PostgreSQL's included when it serves the system under test (the postmaster and its
/// children, whose CPU counts as the server's). Also the machine's total busy time, to notice other load.
/// </summary>
internal sealed partial class ProcessStats(int serverPid, IReadOnlyList<int> extraPids, IReadOnlyList<int> processTrees, string? heapUrl)
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public int ServerPid => serverPid;

    public long RssKb()
    {
        foreach (var line in File.ReadLines($"/proc/{serverPid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no VmRSS for process {serverPid}");
    }

    public bool ServerAlive => File.Exists($"/proc/{serverPid}/status");

    /// <summary>CPU seconds used so far by every server process.</summary>
    public double CpuSeconds()
    {
        double ticks = 0;
        foreach (var pid in extraPids.Prepend(serverPid))
        {
            ticks += ProcessTicks(pid, withReapedChildren: false);
        }

        foreach (var root in processTrees)
        {
            ticks += ProcessTicks(root, withReapedChildren: true);
            foreach (var child in ChildrenOf(root))
            {
                ticks += ProcessTicks(child, withReapedChildren: false);
            }
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>The server's managed (or JS) heap in bytes from its metrics endpoint, or null when it has none.</summary>
    public async Task<long?> HeapBytesAsync()
    {
        if (heapUrl is null)
        {
            return null;
        }

        try
        {
            var text = await Http.GetStringAsync(heapUrl).ConfigureAwait(false);
            // Realtime reports the heap after the last collection per generation; the peers report it whole.
            var matches = HeapLine().Matches(text);
            return matches.Count > 0 ? matches.Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Busy CPU seconds of the whole machine (all cores) so far.</summary>
    public static double MachineBusySeconds()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // user nice system idle iowait irq softirq steal ...
        double busy = 0;
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            if (i is 4 or 5)
            {
                continue;
            }

            busy += double.Parse(fields[i], CultureInfo.InvariantCulture);
        }

        return busy / TicksPerSecond;
    }

    public static double OwnCpuSeconds() => Environment.CpuUsage.TotalTime.TotalSeconds;

    private static double ProcessTicks(int pid, bool withReapedChildren)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is state (field 3): utime is field 14, stime 15, cutime 16, cstime 17.
            var ticks = double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            if (withReapedChildren)
            {
                ticks += double.Parse(fields[13], CultureInfo.InvariantCulture) + double.Parse(fields[14], CultureInfo.InvariantCulture);
            }

            return ticks;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static IEnumerable<int> ChildrenOf(int parent)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }

            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.TryParse(fields[1], out var ppid) && ppid == parent)
            {
                yield return pid;
            }
        }
    }

    [GeneratedRegex(@"(?m)^(?:gc_heap_bytes|js_heap_bytes|dotnet_gc_last_collection_heap_size_bytes\{[^}]*\}) (\d+)")]
    private static partial Regex HeapLine();
}
