namespace Realtime.Contracts.Channels;

/// <summary>
/// A history read. With <see cref="After"/>: the first <see cref="Limit"/> messages past that offset.
/// With <see cref="Before"/>: the last <see cref="Limit"/> messages before that offset.
/// With neither: the newest <see cref="Limit"/> messages. Messages always come oldest first.
/// </summary>
[GenerateSerializer, Immutable, Alias("realtime.history-query")]
public sealed record HistoryQuery([property: Id(0)] int Limit, [property: Id(1)] long? After = null, [property: Id(2)] long? Before = null);

/// <summary>
/// A page of history. <see cref="Offset"/> is the channel's newest offset (0 before the first message);
/// <see cref="FirstRetained"/> is the oldest offset still kept, so a reader can tell whether a gap
/// can be filled.
/// </summary>
[GenerateSerializer, Immutable, Alias("realtime.history-page")]
public sealed record HistoryPage(
    [property: Id(0)] string Epoch,
    [property: Id(1)] long Offset,
    [property: Id(2)] long FirstRetained,
    [property: Id(3)] IReadOnlyList<Publication> Messages);
