namespace Realtime.Contracts.Grains;

/// <summary>Trims history, inboxes and idempotency keys on a reminder. One activation in the cluster
/// (key 0), so the job runs once however many silos there are.</summary>
[Alias("realtime.IRetentionGrain")]
public interface IRetentionGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the reminder if it is not registered yet (every silo calls this at start).</summary>
    [Alias("start")]
    Task StartAsync();
}
