namespace Realtime.Silo.Runtime;

/// <summary>Identifies an activation on this node: the grain interface and the key.</summary>
public readonly record struct GrainId(Type Interface, string Key)
{
    public override string ToString() => $"{Interface.Name}/{Key}";
}
