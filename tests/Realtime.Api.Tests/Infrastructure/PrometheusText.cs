using System.Globalization;
using System.Text.RegularExpressions;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// Reads the Prometheus text format that <c>/metrics</c> serves into samples keyed by series: the metric name, then
/// its labels in braces, sorted, without OpenTelemetry's <c>otel_scope_*</c> labels (which name the meter, not the
/// series): <c>realtime_connections</c>, <c>dotnet_gc_collections_total{gc_heap_generation="gen2"}</c>.
/// </summary>
public static partial class PrometheusText
{
    public static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = Sample().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample: {line}");
            var labels = Label().Matches(match.Groups["labels"].Value)
                .Where(l => !l.Groups["name"].Value.StartsWith("otel_scope_", StringComparison.Ordinal))
                .Select(l => $"{l.Groups["name"].Value}=\"{l.Groups["value"].Value}\"")
                .Order(StringComparer.Ordinal)
                .ToArray();
            var series = labels.Length == 0 ? match.Groups["name"].Value : $"{match.Groups["name"].Value}{{{string.Join(",", labels)}}}";
            samples[series] = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return samples;
    }

    /// <summary>The metric's <c># TYPE</c> (counter, gauge, histogram), or null when it is not listed.</summary>
    public static string? TypeOf(string text, string metric) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith($"# TYPE {metric} ", StringComparison.Ordinal))?.Split(' ')[3];

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex Label();
}
