using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Realtime.Api.Tests.Diagnostics;

/// <summary>
/// Every event the product logs has an id of its own, listed in docs/configuration.md ("Logs"), so an alert or a
/// search keyed on an id finds one kind of event.
/// </summary>
public sealed partial class LogEventTests
{
    private static readonly string[] Assemblies = ["Realtime.Api", "Realtime.Grains"];

    [Fact]
    public void No_two_log_events_share_an_id()
    {
        var events = LogEvents();
        Assert.True(events.Count > 30, $"only {events.Count} log events found: the reflection below no longer sees them");

        var shared = events.GroupBy(e => e.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}").ToArray();
        Assert.True(shared.Length == 0, $"log event ids used twice: {string.Join("; ", shared)}");
    }

    [Fact]
    public void The_configuration_guide_lists_every_log_event_id_under_its_category()
    {
        var rows = DocumentedRows();
        Assert.NotEmpty(rows);

        var missing = LogEvents()
            .Where(e => !rows.Any(r => r.From <= e.Id && e.Id <= r.To && e.Namespace.StartsWith(r.Category, StringComparison.Ordinal)))
            .Select(e => $"{e.Id} ({e.Name})").ToArray();
        Assert.True(missing.Length == 0, $"not in docs/configuration.md, \"Logs\": {string.Join(", ", missing)}");
    }

    private sealed record LogEvent(int Id, string Namespace, string Name);

    private sealed record DocumentedRow(int From, int To, string Category);

    private static List<LogEvent> LogEvents() =>
        Assemblies.Select(Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Select(m => (Type: t, Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>())))
            .Where(x => x.Attribute is not null)
            .Select(x => new LogEvent(x.Attribute!.EventId, x.Type.Namespace!, $"{x.Type.Name}.{x.Method.Name}"))
            .ToList();

    // Rows of the table: | 100–106 | `Realtime.Grains.*` | … |
    private static List<DocumentedRow> DocumentedRows()
    {
        var guide = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        return Row().Matches(guide)
            .Select(m => new DocumentedRow(
                int.Parse(m.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups["to"].Success ? m.Groups["to"].Value : m.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture),
                m.Groups["category"].Value))
            .ToList();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "docs", "configuration.md")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no docs/configuration.md above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^\| (?<from>\d+)(–(?<to>\d+))? \| `(?<category>[A-Za-z.]+)\.\*` \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
