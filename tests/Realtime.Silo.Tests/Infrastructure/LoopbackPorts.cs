using System.Net;
using System.Net.Sockets;

namespace Realtime.Testing;

/// <summary>Free TCP ports on loopback for servers a test starts (PostgreSQL, nodes, nginx).</summary>
public static class LoopbackPorts
{
    public static int Free() => Free(1)[0];

    /// <summary><paramref name="count"/> distinct ports: each is held open until all are chosen.</summary>
    public static int[] Free(int count)
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
}
