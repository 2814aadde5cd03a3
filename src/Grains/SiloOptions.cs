using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains;

/// <summary>How grains and front ends keep each other current, bound from <c>Realtime:Silo</c>.</summary>
public sealed class SiloOptions : IValidatableObject
{
    public const string Section = "Realtime:Silo";

    /// <summary>A grain unused this long is deactivated (Orleans' collection age). Orleans refuses less than a minute.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often Orleans looks for idle grains (its collection quantum).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a front end renews its members with each channel grain (and learns where the channel
    /// stands, refilling what its stream missed), reports itself to the node directory, and checks its stream
    /// subscriptions.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A front end that has not renewed for this long is dead: its members leave their channels, with
    /// leave pushed. Must be well above <see cref="HeartbeatInterval"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CollectionInterval >= IdleTimeout)
        {
            yield return new ValidationResult($"must be less than {Section}:IdleTimeout ({IdleTimeout})", [nameof(CollectionInterval)]);
        }

        if (NodeTimeout < 2 * HeartbeatInterval)
        {
            yield return new ValidationResult($"must be at least twice {Section}:HeartbeatInterval ({HeartbeatInterval}), or live front ends lose their members", [nameof(NodeTimeout)]);
        }
    }
}
