namespace Realtime.Contracts.Grains;

/// <summary>Whether a silo can reach the message store. A stateless worker, so the answer comes from a
/// silo near the caller; a front end that gets no answer cannot reach the cluster.</summary>
[Alias("realtime.IStoreHealthGrain")]
public interface IStoreHealthGrain : IGrainWithIntegerKey
{
    [Alias("ready")]
    Task<bool> IsReadyAsync();
}
