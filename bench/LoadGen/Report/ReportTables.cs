using System.Globalization;
using System.Text;

namespace Realtime.Bench.LoadGen.Report;

/// <summary>The tables of docs/benchmarks.md, one per scenario, each with Realtime's ratio to every peer.</summary>
internal sealed class ReportTables(List<SystemResult> systems, StringBuilder text)
{
    private readonly SystemResult? _memory = systems.Find(s => s.System == MarkdownReport.Memory);
    private readonly SystemResult? _postgres = systems.Find(s => s.System == MarkdownReport.Postgres);
    private readonly SystemResult? _kestrel = systems.Find(s => s.System == "kestrel");
    private readonly SystemResult? _signalr = systems.Find(s => s.System == "signalr");
    private readonly SystemResult? _deflate = systems.Find(s => s.System == "realtime-deflate");
    private IEnumerable<SystemResult> SingleNode => systems.Where(s => !MarkdownReport.MultiNode.Contains(s.System));

    public void Targets()
    {
        Line("### Targets");
        Line();
        Line("| Target | Measured | Met |");
        Line("|---|---|---|");
        foreach (var idle in _memory?.Idle ?? [])
        {
            var signalr = _signalr?.Idle.Find(i => i.Connections == idle.Connections);
            Target($"memory per idle connection ≤ 12 KiB ({idle.Connections:N0}, RSS)", $"{idle.RssPerConnectionKb:N2} KiB", idle.RssPerConnectionKb <= 12 && idle.Dropped == 0);
            if (idle.IdleCpuPercent is { } cpu)
            {
                Target($"idle node under 3% of a core ({idle.Connections:N0} idle sockets, no traffic)", $"{cpu:N2}%", cpu < 3);
            }
            if (_deflate?.Idle.Find(i => i.Connections == idle.Connections) is { } compressed)
            {
                Target($"compression on costs ≤ 4 KiB more per idle connection ({idle.Connections:N0}, RSS)",
                    $"{compressed.RssPerConnectionKb - idle.RssPerConnectionKb:+0.00;-0.00} KiB ({compressed.RssPerConnectionKb:N2} vs {idle.RssPerConnectionKb:N2})",
                    compressed.RssPerConnectionKb - idle.RssPerConnectionKb <= 4 && compressed.Dropped == 0);
            }

            if (signalr is not null)
            {
                Target($"… and lower than SignalR's ({idle.Connections:N0})", $"{idle.RssPerConnectionKb:N2} vs {signalr.RssPerConnectionKb:N2} KiB",
                    idle.RssPerConnectionKb < signalr.RssPerConnectionKb);
            }
        }

        foreach (var fanout in _memory?.Fanout ?? [])
        {
            var mine = Capacity(_memory, fanout.ChannelSize);
            var kestrel = Capacity(_kestrel, fanout.ChannelSize);
            var signalr = Capacity(_signalr, fanout.ChannelSize);
            Target($"fan-out capacity ≥ 90% of bare Kestrel (channels of {fanout.ChannelSize:N0})", RatioText(mine, kestrel), mine > 0 && kestrel > 0 && mine >= 0.9 * kestrel);
            Target($"fan-out capacity ≥ 2× SignalR (channels of {fanout.ChannelSize:N0})", RatioText(mine, signalr), mine > 0 && signalr > 0 && mine >= 2 * signalr);
        }

        foreach (var (system, budget) in new[] { (_memory, 5.0), (_postgres, 25.0) })
        {
            foreach (var fanout in system?.Fanout ?? [])
            {
                var half = fanout.Latency.ElementAtOrDefault(1);
                Target($"p99 ≤ {budget} ms at 50% of capacity, {system!.Label} (channels of {fanout.ChannelSize:N0})",
                    half is null ? "not measured" : $"{half.P99Ms:N2} ms", half is not null && half.P99Ms <= budget && half.Lost == 0);
            }
        }

        Line();
    }

    public void Idle()
    {
        foreach (var count in SingleNode.SelectMany(s => s.Idle).Select(i => i.Connections).Distinct())
        {
            Line($"### {count:N0} idle connections");
            Line();
            Line("Each socket connects, authenticates (Realtime), subscribes to a channel of 100 and stays quiet. Memory is the server's " +
                 "growth divided by the sockets: VmRSS, and the managed (or JS) heap from the server's metrics endpoint. Ratio: Realtime's figure ÷ " +
                 "this system's (below 1 means Realtime uses less).");
            Line();
            Line("| System | RSS KiB/conn | heap KiB/conn | connect+auth+subscribe /s | failed / dropped | idle CPU, % of a core | memory ÷ this (RSS) | postgres ÷ this (RSS) |");
            Line("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var system in SingleNode)
            {
                if (system.Idle.Find(i => i.Connections == count) is not { } idle)
                {
                    continue;
                }

                Line($"| {system.Label} | {idle.RssPerConnectionKb:N2} | {Num(idle.HeapPerConnectionKb, "N2")} | {idle.ConnectPerSecond:N0} | " +
                     $"{idle.Failures} / {idle.Dropped} | {Num(idle.IdleCpuPercent, "N2")} | {Ratio(_memory?.Idle.Find(i => i.Connections == count)?.RssPerConnectionKb, idle.RssPerConnectionKb)} | " +
                     $"{Ratio(_postgres?.Idle.Find(i => i.Connections == count)?.RssPerConnectionKb, idle.RssPerConnectionKb)} |");
            }

            Line();
        }
    }

    public void Fanout()
    {
        foreach (var size in SingleNode.SelectMany(s => s.Fanout).Select(f => f.ChannelSize).Distinct())
        {
            var subscribers = SingleNode.SelectMany(s => s.Fanout).First(f => f.ChannelSize == size);
            Line($"### Fan-out, channels of {size:N0} ({subscribers.Channels:N0} channel{(subscribers.Channels == 1 ? "" : "s")}, {subscribers.Subscribers:N0} subscribers)");
            Line();
            Line("Capacity: the largest publish rate of the search whose step kept p99 ≤ 100 ms with nothing lost. CPU per million deliveries is " +
                 "the server's (PostgreSQL included) at 50% of capacity. Generator: its share of its own core at capacity (near 100% means the " +
                 "generator, not the server, may be the limit). Ratio: Realtime's capacity ÷ this system's.");
            Line();
            Line("| System | capacity pub/s | deliveries/s | p99 at capacity ms | server CPU s / M deliveries | generator | memory ÷ this | postgres ÷ this |");
            Line("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var system in SingleNode)
            {
                if (system.Fanout.Find(f => f.ChannelSize == size) is not { } fanout)
                {
                    continue;
                }

                var capacity = fanout.Capacity;
                var half = fanout.Latency.ElementAtOrDefault(1);
                Line($"| {system.Label} | {Num(capacity?.PublishRate, "N0")} | {Num(capacity?.DeliveriesPerSecond, "N0")} | {Num(capacity?.P99Ms, "N1")} | " +
                     $"{Num(half?.CpuSecondsPerMillion, "N2")} | {Num(capacity?.ClientCpuShare, "P0")} | " +
                     $"{Ratio(Capacity(_memory, size), capacity?.DeliveriesPerSecond)} | {Ratio(Capacity(_postgres, size), capacity?.DeliveriesPerSecond)} |");
            }

            Line();
        }
    }

    public void Latency()
    {
        Line("### Publish-to-deliver latency at 25 / 50 / 75% of each system's own capacity");
        Line();
        Line("Milliseconds from the publisher's send to the subscriber's receive (one clock: both ends are in the generator), p50 / p99 / p99.9.");
        Line();
        Line("| System | channels of | 25% | 50% | 75% | lost |");
        Line("|---|---:|---|---|---|---:|");
        foreach (var system in systems)
        {
            foreach (var fanout in system.Fanout)
            {
                var cells = fanout.Latency.Select(l => $"{l.P50Ms:N2} / {l.P99Ms:N2} / {l.P999Ms:N2} ({l.PublishRate:N0}/s)").ToList();
                while (cells.Count < 3)
                {
                    cells.Add("–");
                }

                Line($"| {system.Label} | {fanout.ChannelSize:N0} | {cells[0]} | {cells[1]} | {cells[2]} | {fanout.Latency.Sum(l => l.Lost)} |");
            }
        }

        Line();
    }

    public void Churn()
    {
        if (!SingleNode.Any(s => s.Churn is not null))
        {
            return;
        }

        Line("### Connection churn");
        Line();
        Line("16 workers in a loop: connect, authenticate (Realtime), subscribe, wait for the reply, close with the close handshake. Ratio: Realtime ÷ this.");
        Line();
        Line("| System | cycles/s | server CPU ms / cycle | failed | generator | memory ÷ this | postgres ÷ this |");
        Line("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var system in SingleNode)
        {
            if (system.Churn is { } churn)
            {
                Line($"| {system.Label} | {churn.PerSecond:N0} | {1000 * churn.ServerCpuSeconds / Math.Max(1, churn.Completed):N3} | {churn.Failures} | " +
                     $"{churn.ClientCpuShare:P0} | {Ratio(_memory?.Churn?.PerSecond, churn.PerSecond)} | {Ratio(_postgres?.Churn?.PerSecond, churn.PerSecond)} |");
            }
        }

        Line();
    }

    public void TwoNodes()
    {
        var several = systems.Where(s => MarkdownReport.MultiNode.Contains(s.System)).ToList();
        if (several.Count == 0)
        {
            return;
        }

        var signalr = several.Find(s => s.System == MarkdownReport.SignalRTwoNodes);
        var oneNode = SingleNode.Where(s => s.System is MarkdownReport.Postgres or "signalr").ToList();
        Line("### Several nodes");
        Line();
        Line("Every channel has subscribers on both front ends and publishers write through both, so every message crosses from one " +
             "process to another: Realtime's two co-hosted nodes on one PostgreSQL (grains on either node, Orleans streams between them); " +
             "Realtime's cluster of two silos (`src/Silo`) and two front ends (`src/Api` as Orleans clients) on one PostgreSQL; SignalR's " +
             "two nodes on its Redis backplane. Every server process (PostgreSQL and Redis included) shares core 0, so a second node adds " +
             "no CPU here: the figures say what crossing between processes costs, not how a cluster of machines scales. The one-node rows " +
             "repeat the single-node figures for comparison. Ratio: this row's capacity ÷ SignalR's on two nodes.");
        Line();
        Line("| System | channels of | capacity pub/s | deliveries/s | p50 / p99 / p99.9 at 50% ms | lost | server CPU s / M deliveries | ÷ SignalR (2 nodes) |");
        Line("|---|---:|---:|---:|---|---:|---:|---:|");
        foreach (var system in oneNode.Concat(several))
        {
            foreach (var fanout in system.Fanout.Where(f => several.Any(s => s.Fanout.Any(g => g.ChannelSize == f.ChannelSize))))
            {
                var half = fanout.Latency.ElementAtOrDefault(1);
                Line($"| {system.Label} | {fanout.ChannelSize:N0} | {Num(fanout.Capacity?.PublishRate, "N0")} | {Num(fanout.Capacity?.DeliveriesPerSecond, "N0")} | " +
                     $"{(half is null ? "–" : $"{half.P50Ms:N2} / {half.P99Ms:N2} / {half.P999Ms:N2}")} | {fanout.Latency.Sum(l => l.Lost)} | " +
                     $"{Num(half?.CpuSecondsPerMillion, "N2")} | {Ratio(Capacity(system, fanout.ChannelSize), Capacity(signalr, fanout.ChannelSize))} |");
            }
        }

        Line();
    }

    public void Steps()
    {
        Line("### Every step of the capacity search");
        Line();
        Line("| System | channels of | probe del/s | step | pub/s | del/s | p50 ms | p99 ms | lost | dropped | server CPU | generator | other | result |");
        Line("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var system in systems)
        {
            foreach (var fanout in system.Fanout)
            {
                foreach (var step in fanout.Steps)
                {
                    Line($"| {system.Label} | {fanout.ChannelSize:N0} | {fanout.ProbeDeliveriesPerSecond:N0} | {step.Label} | {step.PublishRate:N0} | " +
                         $"{step.DeliveriesPerSecond:N0} | {step.P50Ms:N2} | {step.P99Ms:N2} | {step.Lost} | {step.Dropped} | " +
                         $"{step.ServerCpuSeconds / step.Seconds:P0} | {step.ClientCpuShare:P0} | {step.ForeignCpuShare:P0} | {(step.Passed ? "pass" : "fail")} |");
                }
            }
        }

        Line();
    }

    private static double Capacity(SystemResult? system, int size) =>
        system?.Fanout.Find(f => f.ChannelSize == size)?.Capacity?.DeliveriesPerSecond ?? 0;

    private static string RatioText(double mine, double theirs) =>
        theirs > 0 ? string.Create(CultureInfo.InvariantCulture, $"{mine:N0} vs {theirs:N0} deliveries/s = {mine / theirs:N2}×") : "peer not measured";

    private static string Ratio(double? mine, double? theirs) =>
        mine is > 0 && theirs is > 0 ? string.Create(CultureInfo.InvariantCulture, $"{mine / theirs:N2}×") : "–";

    private static string Num(double? value, string format) =>
        value is { } v && !double.IsNaN(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private void Target(string name, string measured, bool met) => Line($"| {name} | {measured} | {(met ? "yes" : "**no**")} |");

    private void Line(string line = "") => text.Append(line).Append('\n');
}
