namespace Realtime.Contracts.Grains;

/// <summary>
/// As in Orleans: calls to this grain method run without waiting for the grain's current turn. Used
/// for methods that touch no mutable grain state, so that a slow engine round-trip (a publish, a
/// history read) does not hold up delivery of the channel's stream.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;
