namespace Realtime.Contracts.Users;

/// <summary>A notification in a user's inbox. <see cref="Data"/> is raw UTF-8 JSON.</summary>
public sealed record InboxEntry(string Id, string User, byte[] Data, DateTimeOffset Timestamp, bool Read);

/// <summary>A notification to store. When <see cref="DeliverAt"/> is in the future it stays hidden
/// and unpushed until then.</summary>
public sealed record InboxAppend(string User, byte[] Data, string? IdempotencyKey = null, DateTimeOffset? DeliverAt = null);

/// <summary>A page of a user's inbox, newest first, with the user's unread count.</summary>
public sealed record InboxPage(IReadOnlyList<InboxEntry> Items, int Unread);
