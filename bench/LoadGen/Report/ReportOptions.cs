using System.Text.Json;

namespace Realtime.Bench.LoadGen.Report;

/// <summary>Options of <c>loadgen report</c>, and the run description bench/run.sh writes (run.json).</summary>
internal sealed record ReportOptions(string Results, string Out)
{
    public static ReportOptions Parse(IReadOnlyList<string> args)
    {
        string? results = null, output = null;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--results": results = Value(); break;
                case "--out": output = Value(); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        return new ReportOptions(results ?? throw new ArgumentException("--results is required"), output ?? throw new ArgumentException("--out is required"));
    }

    /// <summary>Reads every <c>*.json</c> result in the folder, in the order run.sh ran them (run.json lists it).</summary>
    public (RunInfo Run, List<SystemResult> Systems) Load()
    {
        var run = JsonSerializer.Deserialize(File.ReadAllText(Path.Combine(Results, "run.json")), ResultsJson.Default.RunInfo)
                  ?? throw new ArgumentException("run.json is empty");
        var systems = run.Systems
            .Select(name => Path.Combine(Results, name + ".json"))
            .Where(File.Exists)
            .Select(file => JsonSerializer.Deserialize(File.ReadAllText(file), ResultsJson.Default.SystemResult)!)
            .ToList();
        return (run, systems);
    }
}

/// <summary>What bench/run.sh knows about the run: when, where, how it was started.</summary>
internal sealed record RunInfo
{
    public string Command { get; init; } = "";
    public string Started { get; init; } = "";
    public string Finished { get; init; } = "";
    public bool Quick { get; init; }
    public string Commit { get; init; } = "";
    public List<string> Machine { get; init; } = [];
    public List<string> Systems { get; init; } = [];
    public List<string> Notes { get; init; } = [];
}
