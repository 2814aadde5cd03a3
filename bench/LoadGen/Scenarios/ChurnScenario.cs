using System.Diagnostics;
using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Report;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// Connection churn: workers in a loop connect, authenticate (Realtime: a fresh user's token on the URL),
/// subscribe, wait for the reply and close with the WebSocket close handshake. Reports completed cycles per second.
/// </summary>
internal sealed class ChurnScenario(Fleet fleet, ProcessStats server, RunSettings settings, TextWriter log)
{
    public async Task<ChurnResult> RunAsync(CancellationToken ct)
    {
        long completed = 0, failures = 0;
        var (cpu, own) = (server.CpuSeconds(), ProcessStats.OwnCpuSeconds());
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(settings.Churn.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, settings.ChurnWorkers).Select(async worker =>
        {
            while (Stopwatch.GetTimestamp() < until)
            {
                try
                {
                    var connection = await fleet.OpenOneAsync(worker, fleet.Client.Protocol.Channel(2_000_000 + worker), ct).ConfigureAwait(false);
                    await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    Interlocked.Increment(ref completed);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    if (Interlocked.Increment(ref failures) <= 3)
                    {
                        log.WriteLine($"  churn: {e.Message}");
                    }
                }
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var result = new ChurnResult(seconds, completed, failures, completed / seconds, server.CpuSeconds() - cpu, (ProcessStats.OwnCpuSeconds() - own) / seconds);
        log.WriteLine($"  churn: {result.PerSecond:N0} connect+subscribe+close/s ({completed:N0} in {seconds:N1} s, {failures} failed, gen {result.ClientCpuShare:P0})");
        return result;
    }
}
