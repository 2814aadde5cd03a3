using System.Diagnostics;
using System.Net;
using Realtime.Bench.LoadGen.Net;

namespace Realtime.Bench.LoadGen.Scenarios;

/// <summary>
/// Opens sockets in bulk: upgrade, handshake where the protocol has one, subscribe, each answered before the
/// socket counts. Past <see cref="SocketsPerSource"/> sockets, clients bind 127.0.0.2, 127.0.0.3, … as their
/// source address, since one source address has only ~28k ephemeral ports toward one server port.
/// </summary>
internal sealed class Fleet(Client client, IReadOnlyList<IPEndPoint> servers)
{
    public const int SocketsPerSource = 25_000;
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);
    private static int s_nextClient;

    public Client Client => client;

    /// <summary>Sources are spread only when the run needs more sockets than one address can carry.</summary>
    public int PlannedSockets { get; init; }

    public sealed record Opened(IReadOnlyList<WsConnection> Connections, double Seconds, int Failures);

    /// <summary>Opens <paramref name="count"/> sockets; socket i subscribes to <c>channelOf(i)</c> unless it returns null.</summary>
    public async Task<Opened> OpenAsync(int count, Func<int, string?> channelOf, int concurrency, CancellationToken ct)
    {
        var connections = new WsConnection?[count];
        var failures = 0;
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, Math.Min(concurrency, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    connections[i] = await OpenOneAsync(i, channelOf(i), ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
                {
                    if (Interlocked.Increment(ref failures) <= 3)
                    {
                        Console.Error.WriteLine($"loadgen: socket {i}: {e.Message}");
                    }
                }
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        return new Opened(connections.OfType<WsConnection>().ToArray(), Stopwatch.GetElapsedTime(started).TotalSeconds, failures);
    }

    /// <summary>Upgrade, handshake and (optionally) subscribe one socket; throws when any step fails.</summary>
    public async Task<WsConnection> OpenOneAsync(int slot, string? channel, CancellationToken ct)
    {
        var number = Interlocked.Increment(ref s_nextClient); // a new user for every socket
        var server = servers[slot % servers.Count];
        var connection = await WsConnection.ConnectAsync(server, SourceFor(number), client.Protocol.Path(number), client, number, ct, client.Protocol.UpgradeHeaders)
            .ConfigureAwait(false);
        try
        {
            if (client.Protocol.Hello(number) is { } hello && !await connection.RequestAsync(hello, ReplyTimeout).ConfigureAwait(false))
            {
                throw new IOException("handshake refused or timed out");
            }

            if (channel is not null && !await connection.RequestAsync(client.Protocol.Subscribe(2, channel), ReplyTimeout).ConfigureAwait(false))
            {
                throw new IOException($"subscribe to '{channel}' refused or timed out");
            }

            client.Track(connection);
            return connection;
        }
        catch
        {
            connection.Abort();
            throw;
        }
    }

    public static async Task CloseAllAsync(IEnumerable<WsConnection> connections, bool graceful)
    {
        if (!graceful)
        {
            foreach (var connection in connections)
            {
                connection.Abort();
            }

            return;
        }

        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 64 },
            async (c, _) => await c.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false)).ConfigureAwait(false);
    }

    private IPAddress? SourceFor(int number) =>
        PlannedSockets <= SocketsPerSource ? null : new IPAddress([127, 0, 0, (byte)(1 + number % Sources)]);

    private int Sources => (PlannedSockets + SocketsPerSource - 1) / SocketsPerSource;
}
