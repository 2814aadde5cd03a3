using Realtime.Contracts.Grains;
using Realtime.Grains.Stores;

namespace Realtime.Grains.Cluster;

/// <summary>Answers whether the silo it runs on reaches the store; a stateless worker, so it runs on the
/// silo the call enters and never becomes a hot spot.</summary>
[StatelessWorker]
internal sealed class StoreHealthGrain(IRealtimeStore store) : Grain, IStoreHealthGrain
{
    public async Task<bool> IsReadyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            return await store.IsReadyAsync(timeout.Token);
        }
        catch (Exception)
        {
            return false;
        }
    }
}
