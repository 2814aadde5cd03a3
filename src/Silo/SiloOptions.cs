using System.ComponentModel.DataAnnotations;

namespace Realtime.Silo;

/// <summary>Settings of the grain runtime and cluster jobs, bound from <c>Realtime:Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "Realtime:Silo";

    /// <summary>An activation unused this long is deactivated.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the idle collector looks for unused activations.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether this node runs the cluster jobs (scheduled notifications, retention, dead nodes).</summary>
    public bool RunJobs { get; set; } = true;

    /// <summary>How often this node writes its heartbeat and the jobs run.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader looks for scheduled notifications that are due: the most they are late.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A node silent this long is dead: its presence entries are removed and leave is pushed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
