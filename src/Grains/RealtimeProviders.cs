namespace Realtime.Grains;

/// <summary>Names of the Orleans providers the grains use, in one place (the stream provider's name is
/// <see cref="Realtime.Contracts.Streams.RealtimeStreams.Provider"/>, shared with the front ends).</summary>
public static class RealtimeProviders
{
    /// <summary>Grain storage for channel members (presence).</summary>
    public const string Storage = "realtime";

    /// <summary>Where Orleans keeps stream subscriptions; PostgreSQL on a cluster, so they outlive a silo.</summary>
    public const string PubSubStore = "PubSubStore";
}
