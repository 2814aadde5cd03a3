using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains.Channels;

/// <summary>What channels of one namespace do (SPEC §6), bound from <c>Realtime:Namespaces:&lt;ns&gt;</c>.</summary>
public sealed class NamespaceOptions
{
    public const int DefaultHistorySize = 100;

    /// <summary>How many messages each channel keeps for history and recovery; 0 keeps none.</summary>
    [Range(0, 1_000_000)]
    public int HistorySize { get; set; } = DefaultHistorySize;

    /// <summary>How long a message stays in history.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan HistoryTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Whether the channel tracks who is subscribed.</summary>
    public bool Presence { get; set; } = true;

    /// <summary>Whether subscribers are told when others join and leave.</summary>
    public bool JoinLeave { get; set; } = true;

    /// <summary>Whether clients may publish over the socket (the REST API always may).</summary>
    public bool ClientPublish { get; set; } = true;

    /// <summary>When true, a client needs a token whose <c>channels</c> claim matches the channel.</summary>
    public bool Restricted { get; set; }
}
