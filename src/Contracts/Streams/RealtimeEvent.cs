using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Users;

namespace Realtime.Contracts.Streams;

/// <summary>An event on a realtime stream, from a grain to the front ends. Immutable: Orleans neither
/// copies it on the way nor guesses at its shape.</summary>
[GenerateSerializer, Immutable, Alias("realtime.event")]
public abstract record RealtimeEvent;

/// <summary>A message appended to a channel (front-end stream).</summary>
[GenerateSerializer, Immutable, Alias("realtime.event.message")]
public sealed record MessageEvent([property: Id(0)] Publication Publication) : RealtimeEvent;

/// <summary>A client joined or left a channel (front-end stream). <see cref="Sequence"/> orders the channel's
/// presence events, so a subscriber skips those that happened before it subscribed.</summary>
[GenerateSerializer, Immutable, Alias("realtime.event.presence")]
public sealed record PresenceEvent(
    [property: Id(0)] string Channel,
    [property: Id(1)] PresenceEntry Entry,
    [property: Id(2)] bool Joined,
    [property: Id(3)] long Sequence) : RealtimeEvent;

/// <summary>A notification became visible in a user's inbox (user stream).</summary>
[GenerateSerializer, Immutable, Alias("realtime.event.notification")]
public sealed record NotificationEvent([property: Id(0)] InboxEntry Entry) : RealtimeEvent;

/// <summary>An ephemeral direct message to every device of a user (user stream).</summary>
[GenerateSerializer, Immutable, Alias("realtime.event.direct")]
public sealed record DirectEvent(
    [property: Id(0)] string User,
    [property: Id(1)] string? From,
    [property: Id(2)] byte[] Data,
    [property: Id(3)] DateTimeOffset Timestamp) : RealtimeEvent;

/// <summary>Every session of a user must be closed (user stream).</summary>
[GenerateSerializer, Immutable, Alias("realtime.event.disconnect")]
public sealed record DisconnectEvent([property: Id(0)] string User, [property: Id(1)] string Reason) : RealtimeEvent;
