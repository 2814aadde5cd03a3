namespace Realtime.Grains.Stores;

/// <summary>The engine cannot be reached; the operation was not carried out (or not acknowledged).</summary>
public sealed class EngineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
