using System.Text.Json;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Reliability;

/// <summary>
/// The figures a reliability test measured: written to the test output, and appended as one JSON line
/// to the file named by <c>RELIABILITY_RESULTS</c> when it is set (tests/reliability/run-long.sh reads
/// them into docs/reliability.md).
/// </summary>
public static class Measured
{
    private static readonly Lock Gate = new();

    public static void Record(ITestOutputHelper output, string @case, IReadOnlyDictionary<string, object> figures)
    {
        var line = JsonSerializer.Serialize(new Dictionary<string, object>(figures) { ["case"] = @case });
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("RELIABILITY_RESULTS") is { Length: > 0 } path)
        {
            lock (Gate)
            {
                File.AppendAllText(path, line + "\n");
            }
        }
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static double Round(double value, int digits = 1) => Math.Round(value, digits);
}
