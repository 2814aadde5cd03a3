namespace Realtime.Contracts.Wire;

/// <summary>Why a frame is not a valid command. <see cref="Id"/> is set when the frame carried one,
/// so the error reply can still be matched by the client.</summary>
public sealed record CommandParseError(long? Id, string Code, string Message);
