namespace Realtime.Silo.Runtime;

/// <summary>Maps each grain interface to the class that implements it on this node, and to its
/// reference class where one is written (otherwise references are <see cref="GrainProxy"/>s).</summary>
public sealed class GrainTypeRegistry
{
    private readonly Dictionary<Type, Type> _implementations = [];
    private readonly Dictionary<Type, Func<GrainRuntime, GrainId, object>> _references = [];

    public GrainTypeRegistry Add<TGrainInterface, TGrain>()
        where TGrain : Grain, TGrainInterface
    {
        _implementations[typeof(TGrainInterface)] = typeof(TGrain);
        return this;
    }

    public GrainTypeRegistry Add<TGrainInterface, TGrain>(Func<GrainRuntime, GrainId, TGrainInterface> reference)
        where TGrain : Grain, TGrainInterface
        where TGrainInterface : class
    {
        _references[typeof(TGrainInterface)] = reference;
        return Add<TGrainInterface, TGrain>();
    }

    internal Type ImplementationOf(Type grainInterface) =>
        _implementations.TryGetValue(grainInterface, out var type)
            ? type
            : throw new InvalidOperationException($"no grain class is registered for {grainInterface.Name}");

    internal Func<GrainRuntime, GrainId, object>? ReferenceOf(Type grainInterface) =>
        _references.GetValueOrDefault(grainInterface);
}
