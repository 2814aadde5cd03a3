namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>Durations and sizes of one run; <see cref="Quick"/> trades precision for a run of a few minutes.</summary>
internal sealed record RunSettings(bool Quick)
{
    public TimeSpan Step => Quick ? TimeSpan.FromSeconds(1.25) : TimeSpan.FromSeconds(5);
    public TimeSpan Probe => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);
    public TimeSpan Drain => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
    public TimeSpan LatencyRun => Quick ? TimeSpan.FromSeconds(1.5) : TimeSpan.FromSeconds(10);
    public TimeSpan IdleSettle => Quick ? TimeSpan.FromSeconds(4) : TimeSpan.FromSeconds(20);

    // After the sockets open, .NET keeps recompiling hot methods optimised for 10 s or more (thousands a second,
    // seen with dotnet-counters): idle CPU is measured after that, over a window long enough to hold every
    // socket's keep-alive ping (15 s by default).
    public TimeSpan IdleCpuSettle => TimeSpan.FromSeconds(20);
    public TimeSpan IdleCpuWindow => TimeSpan.FromSeconds(15);
    public TimeSpan Churn => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);
    public int Subscribers { get; init; } = 1000;
    public int PublisherSockets { get; init; } = 16;
    public int PayloadBytes { get; init; } = 100;
    public int ChurnWorkers { get; init; } = 16;
    public double MaxP99Ms { get; init; } = 100;
}
