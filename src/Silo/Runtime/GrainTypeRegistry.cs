namespace Realtime.Silo.Runtime;

/// <summary>Maps each grain interface to the class that implements it on this node.</summary>
public sealed class GrainTypeRegistry
{
    private readonly Dictionary<Type, Type> _implementations = [];

    public GrainTypeRegistry Add<TGrainInterface, TGrain>()
        where TGrain : Grain, TGrainInterface
    {
        _implementations[typeof(TGrainInterface)] = typeof(TGrain);
        return this;
    }

    internal Type ImplementationOf(Type grainInterface) =>
        _implementations.TryGetValue(grainInterface, out var type)
            ? type
            : throw new InvalidOperationException($"no grain class is registered for {grainInterface.Name}");
}
