using System.Globalization;
using System.Text.Json;
using Realtime.Bench.LoadGen;
using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Protocols;
using Realtime.Bench.LoadGen.Report;
using Realtime.Bench.LoadGen.Scenarios;

// loadgen run: every scenario against one running system, results as JSON. loadgen report: docs/benchmarks.md.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
try
{
    return args.FirstOrDefault() switch
    {
        "run" => await RunAsync(Options.Parse(args[1..])),
        "report" => MarkdownReport.Write(ReportOptions.Parse(args[1..])),
        _ => throw new ArgumentException("first argument: run or report"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"loadgen: {e.Message}\n{Options.Usage}");
    return 2;
}

static async Task<int> RunAsync(Options options)
{
    var log = Console.Out;
    var settings = new RunSettings(options.Quick) { Subscribers = options.Subscribers };
    var protocol = Protocol.Create(options.Protocol, options.JwtSecret);
    var client = new Client(protocol);
    var server = new ProcessStats(options.ServerPid, options.ExtraPids, options.PidTrees, options.HeapUrl);
    var fleet = new Fleet(client, options.Servers) { PlannedSockets = options.Idle.DefaultIfEmpty(settings.Subscribers).Max() + 100 };
    using var stop = new CancellationTokenSource();
    var keepAlive = client.KeepAliveAsync(stop.Token);
    var result = new SystemResult { System = options.System, Label = options.Label.Length > 0 ? options.Label : options.System };
    result.Notes.AddRange(options.NotesIn);
    log.WriteLine($"loadgen: {result.Label} ({protocol.Name}) at {string.Join(", ", options.Servers)}, server pid {options.ServerPid}");

    // Warm-up: the server JITs its socket, subscribe and publish paths before anything is measured.
    if (!options.NoWarmUp)
    {
        await new FanoutScenario(fleet, server, settings with { Subscribers = 200 }, TextWriter.Null).WarmUpAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    foreach (var connections in options.Idle)
    {
        result.Idle.Add(await new IdleScenario(fleet, server, settings, log).RunAsync(connections, stop.Token));
    }

    if (options.Churn)
    {
        result.Churn = await new ChurnScenario(fleet, server, settings, log).RunAsync(stop.Token);
    }

    foreach (var size in options.Fanout)
    {
        var fanout = new FanoutScenario(fleet, server, settings, log);
        result.Fanout.Add(options.Rates.Count > 0
            ? await fanout.RunFixedRatesAsync(size, options.Rates, stop.Token)
            : await fanout.RunAsync(size, stop.Token));
    }

    if (!server.ServerAlive)
    {
        result.Notes.Add("the server process exited during the run");
    }

    await stop.CancelAsync();
    await keepAlive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
    await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(result, ResultsJson.Default.SystemResult));
    log.WriteLine($"loadgen: wrote {options.Out}");
    return 0;
}
