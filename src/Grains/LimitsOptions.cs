using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains;

/// <summary>Limits that protect the node from any one client (SPEC §6), bound from <c>Realtime:Limits</c>.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Realtime:Limits";

    /// <summary>The largest client frame; a bigger one closes the socket with 1009.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>The largest <c>data</c> of a publish, notification or direct message (socket and REST).</summary>
    [Range(16, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Bytes queued for one connection before it is closed as a slow consumer (4008).</summary>
    [Range(16 * 1024, 1024 * 1024 * 1024)]
    public int MaxQueueBytes { get; set; } = 1024 * 1024;

    [Range(1, 100_000)]
    public int MaxSubscriptions { get; set; } = 256;

    /// <summary>Sustained commands per second per connection.</summary>
    [Range(1, 1_000_000)]
    public int CommandsPerSecond { get; set; } = 100;

    /// <summary>Commands a connection may send at once before the rate applies.</summary>
    [Range(1, 1_000_000)]
    public int CommandBurst { get; set; } = 200;

    /// <summary>Sockets one user may hold on one node.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Time a new socket has to authenticate before it is closed with 4001.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the server pings an idle socket.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A socket that does not answer a ping within this time is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a close handshake may take before the connection is aborted.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
