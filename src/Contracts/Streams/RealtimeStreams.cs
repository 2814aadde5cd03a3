using System.Globalization;

namespace Realtime.Contracts.Streams;

/// <summary>
/// Every stream name in one place. Channel events go to the front ends that have members, on streams
/// the front end owns (<see cref="ForFrontEnd(string, string)"/>): a front end subscribes once, at start,
/// and its subscriptions do not churn with sockets. User events go on a few shared streams that every
/// front end reads (<see cref="ForUser"/>), so a user needs no registration anywhere. Both are split into
/// <see cref="Partitions"/> by a stable hash of the channel or user, so the load spreads over the
/// provider's queues while one channel's (or one user's) events stay on one stream, in order.
/// </summary>
public static class RealtimeStreams
{
    public const string Provider = "realtime";
    public const string FrontEndNamespace = "realtime.frontend";
    public const string UserNamespace = "realtime.users";
    public const int Partitions = 4;

    public static StreamId ForFrontEnd(string frontEnd, string channel) => ForFrontEnd(frontEnd, PartitionOf(channel));

    public static StreamId ForFrontEnd(string frontEnd, int partition) =>
        StreamId.Create(FrontEndNamespace, $"{frontEnd}/{partition.ToString(CultureInfo.InvariantCulture)}");

    public static StreamId ForUser(string user) => ForUsers(PartitionOf(user));

    public static StreamId ForUsers(int partition) => StreamId.Create(UserNamespace, partition.ToString(CultureInfo.InvariantCulture));

    /// <summary>FNV-1a over the UTF-16 code units: the same on every process (string.GetHashCode is not).</summary>
    public static int PartitionOf(string key)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Partitions);
    }
}
