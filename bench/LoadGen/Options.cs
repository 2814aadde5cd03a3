using System.Globalization;
using System.Net;

namespace Realtime.Bench.LoadGen;

/// <summary>Command-line options of <c>loadgen run</c>.</summary>
internal sealed record Options
{
    public const string Usage = """
        usage: loadgen run --system NAME --label TEXT --protocol realtime|simple|signalr --url ws://127.0.0.1:PORT[,ws://…]
                           --server-pid PID [--extra-pid PID]… [--pid-tree PID]… [--heap-url URL] [--jwt-secret S]
                           [--idle 10000,50000] [--fanout 1,100,1000] [--churn] [--subscribers 1000] [--quick]
                           [--rates 10000,20000] --out FILE
                           (--rates: instead of the capacity search, fixed deliveries/s for 5 s each, to compare CPU cost)
               loadgen report --results DIR --out FILE --command TEXT [--quick]
        """;

    public string System { get; private init; } = "";
    public string Label { get; private init; } = "";
    public string Protocol { get; private init; } = "";
    public List<IPEndPoint> Servers { get; } = [];
    public int ServerPid { get; private init; }
    public List<int> ExtraPids { get; } = [];
    public List<int> PidTrees { get; } = [];
    public string? HeapUrl { get; private init; }
    public string? JwtSecret { get; private init; }
    public List<int> Idle { get; } = [];
    public List<int> Fanout { get; } = [];
    public List<int> Rates { get; } = [];
    public bool Churn { get; private init; }
    public int Subscribers { get; private init; } = 1000;
    public bool Quick { get; private init; }

    /// <summary>Skips the warm-up (to look at one scenario on a fresh server).</summary>
    public bool NoWarmUp { get; private init; }
    public string Out { get; private init; } = "";
    public List<string> NotesIn { get; } = [];

    public static Options Parse(IReadOnlyList<string> args)
    {
        var o = new Options();
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--system" => o with { System = Value() },
                "--label" => o with { Label = Value() },
                "--protocol" => o with { Protocol = Value() },
                "--url" => o.With(x => x.Servers.AddRange(Value().Split(',').Select(ParseEndPoint))),
                "--server-pid" => o with { ServerPid = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--extra-pid" => o.With(x => x.ExtraPids.Add(int.Parse(Value(), CultureInfo.InvariantCulture))),
                "--pid-tree" => o.With(x => x.PidTrees.Add(int.Parse(Value(), CultureInfo.InvariantCulture))),
                "--heap-url" => o with { HeapUrl = Value() },
                "--jwt-secret" => o with { JwtSecret = Value() },
                "--idle" => o.With(x => x.Idle.AddRange(Ints(Value()))),
                "--fanout" => o.With(x => x.Fanout.AddRange(Ints(Value()))),
                "--rates" => o.With(x => x.Rates.AddRange(Ints(Value()))),
                "--churn" => o with { Churn = true },
                "--subscribers" => o with { Subscribers = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--quick" => o with { Quick = true },
                "--no-warm-up" => o with { NoWarmUp = true },
                "--note" => o.With(x => x.NotesIn.Add(Value())),
                "--out" => o with { Out = Value() },
                _ => throw new ArgumentException($"unknown argument '{args[i]}'"),
            };
        }

        if (o.System.Length == 0 || o.Protocol.Length == 0 || o.Servers.Count == 0 || o.ServerPid == 0 || o.Out.Length == 0)
        {
            throw new ArgumentException("--system, --protocol, --url, --server-pid and --out are required");
        }

        return o;
    }

    private Options With(Action<Options> change)
    {
        change(this);
        return this;
    }

    private static IEnumerable<int> Ints(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture));

    private static IPEndPoint ParseEndPoint(string url)
    {
        var uri = new Uri(url);
        return new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
    }
}
