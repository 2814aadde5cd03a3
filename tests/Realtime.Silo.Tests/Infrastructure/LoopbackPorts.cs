using System.Net;
using System.Net.Sockets;

namespace Realtime.Testing;

/// <summary>
/// Free TCP ports on loopback for servers a test starts (PostgreSQL, nodes, nginx), which bind them themselves a
/// moment later. They are chosen below the kernel's ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>,
/// 32768–60999 on Linux): a port the kernel hands out for port 0 is one that any outgoing connection on the machine
/// may take before the server binds it, and the suites open thousands (a silo once failed to start with "Address
/// already in use"). Below the range only a listener takes a port. Each process walks the range from its own random
/// start and hands a port out once, so parallel test processes rarely meet, and a port in use is skipped.
/// </summary>
public static class LoopbackPorts
{
    private const int Lowest = 10000;
    private static readonly int Highest = EphemeralRangeStart() - 1;
    private static int _next = Random.Shared.Next(Lowest, Math.Max(Lowest + 1, Highest));

    public static int Free() => Free(1)[0];

    /// <summary><paramref name="count"/> distinct ports, each free when chosen.</summary>
    public static int[] Free(int count)
    {
        if (Highest - Lowest < 1000)
        {
            return FromKernel(count); // an unusual ephemeral range: fall back to the kernel's choice
        }

        var ports = new List<int>(count);
        for (var tries = 0; ports.Count < count; tries++)
        {
            if (tries > 10_000)
            {
                throw new InvalidOperationException($"no free loopback port between {Lowest} and {Highest}");
            }

            var port = Lowest + (int)((uint)Interlocked.Increment(ref _next) % (uint)(Highest - Lowest + 1));
            if (IsFree(port))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static int[] FromKernel(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768; // the Linux default
        }
    }
}
