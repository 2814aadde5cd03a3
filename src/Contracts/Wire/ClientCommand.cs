namespace Realtime.Contracts.Wire;

/// <summary>One parsed client frame. Only the fields the command's type uses are set.</summary>
public sealed class ClientCommand
{
    public long Id { get; init; }
    public CommandType Type { get; init; }
    public string? Channel { get; init; }
    public string? Token { get; init; }
    public string? User { get; init; }

    /// <summary>The raw JSON of <c>data</c>, validated by the parser and copied out of the frame.</summary>
    public byte[]? Data { get; init; }

    public int? Limit { get; init; }
    public bool Unread { get; init; }
    public StreamPosition? Since { get; init; }
    public long? Before { get; init; }
    public IReadOnlyList<string>? Ids { get; init; }
}
