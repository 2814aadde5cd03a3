namespace Realtime.Contracts.Users;

/// <summary>A notification in a user's inbox. <see cref="Data"/> is raw UTF-8 JSON.</summary>
[GenerateSerializer, Immutable, Alias("realtime.inbox-entry")]
public sealed record InboxEntry(
    [property: Id(0)] string Id,
    [property: Id(1)] string User,
    [property: Id(2)] byte[] Data,
    [property: Id(3)] DateTimeOffset Timestamp,
    [property: Id(4)] bool Read);

/// <summary>A notification to store. When <see cref="DeliverAt"/> is in the future it stays hidden
/// and unpushed until then.</summary>
public sealed record InboxAppend(string User, byte[] Data, string? IdempotencyKey = null, DateTimeOffset? DeliverAt = null);

/// <summary>What an inbox append stored. <see cref="Duplicate"/> is true when an earlier append with the same
/// idempotency key already stored <see cref="Entry"/> (it was pushed then, and is not pushed again);
/// <see cref="Scheduled"/> when the entry stays hidden until its time (<see cref="InboxEntry.Timestamp"/>).</summary>
public sealed record InboxAppendResult(InboxEntry Entry, bool Duplicate, bool Scheduled = false);

/// <summary>A page of a user's inbox, newest first, with the user's unread count.</summary>
[GenerateSerializer, Immutable, Alias("realtime.inbox-page")]
public sealed record InboxPage([property: Id(0)] IReadOnlyList<InboxEntry> Items, [property: Id(1)] int Unread);

/// <summary>Scheduled notifications that became visible, and when the next one is due (null: none left).</summary>
public sealed record DueNotifications(IReadOnlyList<InboxEntry> Delivered, DateTimeOffset? Next);
