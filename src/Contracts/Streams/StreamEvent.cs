using Realtime.Contracts.Channels;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Users;

namespace Realtime.Contracts.Streams;

/// <summary>An event carried between nodes on a channel's or a user's stream.</summary>
public abstract record StreamEvent;

/// <summary>A message appended to a channel (channel stream).</summary>
public sealed record PublicationEvent(Publication Publication) : StreamEvent;

/// <summary>A client joined or left a channel (channel stream).</summary>
public sealed record PresenceEvent(string Channel, PresenceEntry Entry, bool Joined) : StreamEvent;

/// <summary>A notification became visible in a user's inbox (user stream).</summary>
public sealed record NotificationEvent(InboxEntry Entry) : StreamEvent;

/// <summary>An ephemeral direct message to every device of a user (user stream).</summary>
public sealed record DirectEvent(string User, string? From, byte[] Data, DateTimeOffset Timestamp) : StreamEvent;

/// <summary>Every session of a user must be closed (user stream).</summary>
public sealed record DisconnectEvent(string User, string Reason) : StreamEvent;

/// <summary>The node may have missed events on this stream (its engine connection was lost and is
/// back): observers must catch up from stored state. Raised locally, never sent between nodes.</summary>
public sealed record ResyncEvent : StreamEvent;
