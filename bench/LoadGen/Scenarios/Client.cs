using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Net;
using Realtime.Bench.LoadGen.Protocols;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// The receiving side shared by every socket of a run. A delivered message is found by its data, which
/// starts <c>{"k":&lt;timestamp&gt;,"r":&lt;step&gt;</c>: that is all that is parsed. Anything else is a reply
/// (completing the socket's pending request, or counted as a publish acknowledgement) or ignored.
/// </summary>
internal sealed class Client(IBenchProtocol protocol) : IFrameSink
{
    private const int MaxSteps = 1024;
    private static readonly double MicrosPerTick = 1_000_000.0 / Stopwatch.Frequency;
    private readonly StepStats?[] _steps = new StepStats?[MaxSteps];
    private long _dropped;
    private long _unmatched;
    private readonly ConcurrentDictionary<WsConnection, byte> _open = new();

    public IBenchProtocol Protocol => protocol;

    /// <summary>Sockets the server closed (or that failed) while the generator still wanted them.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Messages that named a step nobody was measuring.</summary>
    public long Unmatched => Volatile.Read(ref _unmatched);

    public StepStats NewStep(int step) => _steps[step] = new StepStats();

    public StepStats? CurrentPublishStep { get; set; }

    public void OnText(WsConnection connection, ReadOnlySpan<byte> payload)
    {
        if (!protocol.SeparatedRecords)
        {
            OnRecord(connection, payload);
            return;
        }

        while (!payload.IsEmpty)
        {
            var end = payload.IndexOf((byte)0x1E);
            if (end < 0)
            {
                OnRecord(connection, payload);
                return;
            }

            if (end > 0)
            {
                OnRecord(connection, payload[..end]);
            }

            payload = payload[(end + 1)..];
        }
    }

    public void Track(WsConnection connection) => _open[connection] = 0;

    /// <summary>Sends the protocol's keep-alive to every open socket now and then (SignalR drops clients silent for 30 s).</summary>
    public async Task KeepAliveAsync(CancellationToken ct)
    {
        if (protocol.KeepAlive is not { } ping)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            foreach (var connection in _open.Keys)
            {
                try
                {
                    connection.SendText(ping);
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }

    public void OnClosed(WsConnection connection)
    {
        _open.TryRemove(connection, out _);
        if (!connection.Released)
        {
            Interlocked.Increment(ref _dropped);
        }

        connection.Pending?.TrySetResult(false);
    }

    private void OnRecord(WsConnection connection, ReadOnlySpan<byte> record)
    {
        var at = record.IndexOf("{\"k\":"u8);
        if (at >= 0 && TryReadMarker(record[(at + 5)..], out var sent, out var step))
        {
            var micros = (long)((Stopwatch.GetTimestamp() - sent) * MicrosPerTick);
            if ((uint)step < MaxSteps && _steps[step] is { } stats)
            {
                stats.Delivered(micros);
            }
            else
            {
                Interlocked.Increment(ref _unmatched);
            }

            return;
        }

        if (!protocol.IsReply(record))
        {
            return; // a ping, or another push the benchmark does not use
        }

        var error = protocol.IsError(record);
        if (connection.Pending is { } pending)
        {
            connection.Pending = null;
            pending.TrySetResult(!error);
        }
        else
        {
            CurrentPublishStep?.Acked(error);
        }
    }

    private static bool TryReadMarker(ReadOnlySpan<byte> text, out long sent, out int step)
    {
        step = 0;
        if (!Utf8Parser.TryParse(text, out sent, out var used) || !text[used..].StartsWith(",\"r\":"u8))
        {
            return false;
        }

        return Utf8Parser.TryParse(text[(used + 5)..], out step, out _);
    }
}
