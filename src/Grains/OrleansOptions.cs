using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains;

/// <summary>How this process takes part in the Orleans cluster, bound from <c>Realtime:Orleans</c>.</summary>
public sealed class OrleansOptions
{
    public const string Section = "Realtime:Orleans";
    public const string SiloRole = "silo";
    public const string ClientRole = "client";

    /// <summary>Orleans' service id: the same for every Realtime deployment (the cluster id tells clusters apart).</summary>
    public const string ServiceId = "realtime";

    /// <summary>The Api co-hosts a silo (<c>silo</c>, one process runs everything) or joins the silos of
    /// the cluster as an Orleans client (<c>client</c>). <c>src/Silo</c> is always a silo.</summary>
    [RegularExpression("^(silo|client)$", ErrorMessage = "must be 'silo' or 'client'")]
    public string Role { get; set; } = SiloRole;

    /// <summary>Processes with the same cluster id on one database form one cluster.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,64}$", ErrorMessage = "may hold 1 to 64 of A-Z a-z 0-9 _ . -")]
    public string ClusterId { get; set; } = "realtime";

    /// <summary>Silo-to-silo port. Unset: 11111 on the memory engine (Orleans' localhost default), a free port
    /// on the postgres engine (membership publishes it), so several nodes share a machine with no settings.</summary>
    [Range(0, 65535)]
    public int? SiloPort { get; set; }

    /// <summary>The port Orleans clients (front ends with Role=client) connect to. Unset: 30000 on the memory
    /// engine, a free port on the postgres engine.</summary>
    [Range(0, 65535)]
    public int? GatewayPort { get; set; }

    /// <summary>The address other silos and clients use to reach this silo. Unset: loopback on the memory
    /// engine, Orleans' choice (the first non-loopback address) on the postgres engine.</summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>How long a grain call waits for its answer (Orleans' ResponseTimeout, 30 s by default there). A call in
    /// flight to a silo that dies gets no answer: this bounds how long a publish hangs before the client is told
    /// <c>unavailable</c> and may try again. Unset: <see cref="SiloResponseTimeout"/> on a silo,
    /// <see cref="ClientResponseTimeout"/> on a front end with Role=client.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan? ResponseTimeout { get; set; }

    /// <summary>A silo's calls in flight to a silo declared dead are failed by Orleans at once (a few seconds after the
    /// kill with the product's membership defaults), so its timeout only bounds calls that are slow, not lost.</summary>
    public static readonly TimeSpan SiloResponseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>An Orleans client's call goes through a gateway silo, which forwards it; when the silo holding the grain
    /// dies, neither the gateway nor the client fails the forwarded call (Orleans breaks only the calls a silo sent
    /// itself), so it waits the whole timeout. 5 s keeps a publish in flight to a killed silo, and the commands
    /// queued behind it on the same socket, inside SPEC §9.7's 10 s.</summary>
    public static readonly TimeSpan ClientResponseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Serves the Orleans dashboard at <c>/dashboard</c> on a silo (on in Development).</summary>
    public bool? Dashboard { get; set; }

    /// <summary>Queues of the stream provider (<c>ConfigurePartitioning</c>): each is polled by one pulling agent.</summary>
    [Range(1, 256)]
    public int StreamQueues { get; set; } = 4;

    /// <summary>How often a pulling agent polls an empty queue (<c>GetQueueMsgsTimerPeriod</c>): the most a push
    /// waits when the node is quiet. Busy queues are drained back to back. See docs/architecture.md for the figures.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan StreamPollingPeriod { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The most queued events a pulling agent hands a front end in one delivery (<c>BatchContainerBatchSize</c>).
    /// A delivery is a round trip, so with one event each a front end receives at most one event per round trip; a
    /// busy front end instead takes everything queued for it at once. See docs/architecture.md for the figures.</summary>
    [Range(1, 10_000)]
    public int StreamBatchSize { get; set; } = 1024;
}
