using Realtime.Contracts.Grains;

namespace Realtime.Silo.Runtime;

/// <summary>Hands out grain references, as Orleans' IGrainFactory does. A reference is cheap and never
/// stale: each call finds (or activates) the grain on this node.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : class, IGrainWithStringKey;
}
