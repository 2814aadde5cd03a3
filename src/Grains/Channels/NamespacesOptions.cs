using System.ComponentModel.DataAnnotations;
using Realtime.Contracts.Channels;

namespace Realtime.Grains.Channels;

/// <summary>
/// Per-namespace settings, keyed by namespace (<c>Realtime:Namespaces:chat:HistorySize</c>). Channels
/// without a colon use the key <c>default</c>; a namespace with no entry gets the built-in defaults.
/// </summary>
public sealed class NamespacesOptions : Dictionary<string, NamespaceOptions>, IValidatableObject
{
    public const string Section = "Realtime:Namespaces";
    public const string DefaultKey = "default";

    private static readonly NamespaceOptions BuiltIn = new();

    public NamespacesOptions() : base(StringComparer.Ordinal)
    {
    }

    public NamespaceOptions For(string channel)
    {
        var ns = ChannelName.NamespaceOf(channel);
        return TryGetValue(ns.Length == 0 ? DefaultKey : ns, out var options) ? options : BuiltIn;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, options) in this)
        {
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            {
                foreach (var result in results)
                {
                    yield return new ValidationResult(
                        $"{Section}:{name}:{string.Join(",", result.MemberNames)}: {result.ErrorMessage}");
                }
            }
        }
    }
}
