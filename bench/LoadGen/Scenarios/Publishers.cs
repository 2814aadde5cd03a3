using System.Buffers.Text;
using System.Diagnostics;
using Realtime.Bench.LoadGen.Measure;
using Realtime.Bench.LoadGen.Net;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// Publishes from a handful of sockets on one dedicated thread. Open loop: every millisecond it sends what
/// is due at the requested rate, whatever the server answers, so a slow server shows up as latency rather
/// than as a slower generator. The publishes due for one socket in one tick go out in one system call.
/// Each message carries <c>{"k":&lt;Stopwatch timestamp&gt;,"r":&lt;step&gt;,"p":"xxx…"}</c>.
/// </summary>
internal sealed class Publishers(Client client, IReadOnlyList<WsConnection> sockets, IReadOnlyList<string> channels, int channelSize, int payloadBytes)
{
    private readonly byte[][] _batches = sockets.Select(_ => new byte[64 * 1024]).ToArray();
    private readonly int[] _lengths = new int[sockets.Count];
    private readonly byte[] _command = new byte[payloadBytes + 512];
    private readonly byte[] _data = new byte[payloadBytes + 64];
    private long _sequence;

    public IReadOnlyList<WsConnection> Sockets => sockets;

    /// <summary>Holds <paramref name="rate"/> publishes per second for <paramref name="duration"/>; returns how far behind it fell at worst.</summary>
    public TimeSpan RunOpenLoop(StepStats stats, int step, double rate, TimeSpan duration)
    {
        var started = Stopwatch.GetTimestamp();
        long sent = 0;
        var worstLag = TimeSpan.Zero;
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= duration)
            {
                break;
            }

            var due = (long)(elapsed.TotalSeconds * rate) - sent;
            if (due > 0)
            {
                var lag = TimeSpan.FromSeconds(due / rate);
                worstLag = lag > worstLag ? lag : worstLag;
                Send(stats, step, (int)Math.Min(due, int.MaxValue));
                sent += due;
            }

            Thread.Sleep(1);
        }

        return worstLag;
    }

    /// <summary>Publishes as fast as deliveries come back, keeping at most <paramref name="window"/> deliveries in flight.</summary>
    public void RunClosedLoop(StepStats stats, int step, long window, TimeSpan duration)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            var room = (window - stats.InFlight) / channelSize;
            if (room > 0)
            {
                Send(stats, step, (int)Math.Min(room, 256));
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }

    private void Send(StepStats stats, int step, int count)
    {
        var now = Stopwatch.GetTimestamp();
        var data = Data(now, step);
        for (var i = 0; i < count; i++)
        {
            var sequence = _sequence++;
            var socket = (int)(sequence % sockets.Count);
            var channel = channels[(int)(sequence % channels.Count)];
            var length = client.Protocol.WritePublish(_command, sequence + 2, channel, data);
            if (_lengths[socket] + WsConnection.FrameSize(length) > _batches[socket].Length)
            {
                Flush(socket);
            }

            _lengths[socket] += sockets[socket].Frame(_batches[socket].AsSpan(_lengths[socket]), 0x1, _command.AsSpan(0, length));
            stats.Sent(channelSize);
        }

        for (var socket = 0; socket < sockets.Count; socket++)
        {
            Flush(socket);
        }
    }

    private void Flush(int socket)
    {
        if (_lengths[socket] > 0)
        {
            try
            {
                sockets[socket].SendRaw(_batches[socket].AsSpan(0, _lengths[socket]));
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // Counted as lost: its deliveries were expected and never arrive.
            }

            _lengths[socket] = 0;
        }
    }

    private ReadOnlySpan<byte> Data(long timestamp, int step)
    {
        var written = 0;
        var span = _data.AsSpan();
        "{\"k\":"u8.CopyTo(span);
        written += 5;
        Utf8Formatter.TryFormat(timestamp, span[written..], out var n);
        written += n;
        ",\"r\":"u8.CopyTo(span[written..]);
        written += 5;
        Utf8Formatter.TryFormat(step, span[written..], out n);
        written += n;
        ",\"p\":\""u8.CopyTo(span[written..]);
        written += 6;
        var padding = Math.Max(0, payloadBytes - written - 2);
        span.Slice(written, padding).Fill((byte)'x');
        written += padding;
        "\"}"u8.CopyTo(span[written..]);
        return span[..(written + 2)];
    }
}
