namespace Realtime.Contracts.Streams;

public enum StreamKind : byte
{
    Channel,
    User,
}

/// <summary>Names a stream: every channel and every user has one, and events on it reach every node
/// that has subscribed to it.</summary>
public readonly record struct StreamKey(StreamKind Kind, string Key)
{
    public static StreamKey ForChannel(string channel) => new(StreamKind.Channel, channel);
    public static StreamKey ForUser(string user) => new(StreamKind.User, user);
    public override string ToString() => $"{(Kind == StreamKind.Channel ? "channel" : "user")}/{Key}";
}
