namespace Realtime.Contracts.Channels;

/// <summary>
/// A history read. With <see cref="After"/>: the first <see cref="Limit"/> messages past that offset.
/// With <see cref="Before"/>: the last <see cref="Limit"/> messages before that offset.
/// With neither: the newest <see cref="Limit"/> messages. Messages always come oldest first.
/// </summary>
public sealed record HistoryQuery(int Limit, long? After = null, long? Before = null);

/// <summary>
/// A page of history. <see cref="Offset"/> is the channel's newest offset (0 before the first message);
/// <see cref="FirstRetained"/> is the oldest offset still kept, so a reader can tell whether a gap
/// can be filled.
/// </summary>
public sealed record HistoryPage(string Epoch, long Offset, long FirstRetained, IReadOnlyList<Publication> Messages);
