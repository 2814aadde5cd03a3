using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains.Stores;

/// <summary>How long the engine keeps inboxes and idempotency keys, bound from <c>Realtime:Retention</c>.
/// Channel history is kept per namespace (<c>Realtime:Namespaces</c>).</summary>
public sealed class RetentionOptions
{
    public const string Section = "Realtime:Retention";

    /// <summary>The newest this many notifications of a user are kept.</summary>
    [Range(1, 1_000_000)]
    public int InboxMaxItems { get; set; } = 1000;

    /// <summary>Notifications older than this are dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan InboxTtl { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long the idempotency key of a REST publish or notification is remembered.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan IdempotencyTtl { get; set; } = TimeSpan.FromHours(24);
}
