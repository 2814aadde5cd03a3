using System.Text.Json.Serialization;

namespace Realtime.Bench.LoadGen.Report;

/// <summary>One system's figures from one run (bench/results/&lt;system&gt;.json).</summary>
internal sealed record SystemResult
{
    public required string System { get; init; }
    public required string Label { get; init; }
    public List<IdleResult> Idle { get; init; } = [];
    public List<FanoutResult> Fanout { get; init; } = [];
    public ChurnResult? Churn { get; set; }
    public List<string> Notes { get; init; } = [];
}

internal sealed record IdleResult(
    int Connections, int Opened, int Failures, long Dropped, double ConnectPerSecond,
    long RssBeforeKb, long RssAfterKb, double RssPerConnectionKb, double? HeapPerConnectionKb, double? IdleCpuPercent = null);

internal sealed record StepResult(
    string Label, double PublishRate, int ChannelSize, double Seconds, long Published, long Expected, long Received, long Lost,
    long Errors, long Dropped, double DeliveriesPerSecond, double P50Ms, double P99Ms, double P999Ms, double MaxMs,
    double ServerCpuSeconds, double CpuSecondsPerMillion, double ClientCpuShare, double ForeignCpuShare, double PublisherLagMs, bool Passed);

internal sealed record FanoutResult
{
    public required int ChannelSize { get; init; }
    public required int Subscribers { get; init; }
    public required int Channels { get; init; }
    public double ProbeDeliveriesPerSecond { get; set; }
    public List<StepResult> Steps { get; init; } = [];
    public StepResult? Capacity { get; set; }
    public List<StepResult> Latency { get; init; } = [];
}

internal sealed record ChurnResult(double Seconds, long Completed, long Failures, double PerSecond, double ServerCpuSeconds, double ClientCpuShare);

[JsonSerializable(typeof(SystemResult))]
[JsonSerializable(typeof(RunInfo))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class ResultsJson : JsonSerializerContext;
