using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains;

/// <summary>Node-wide settings bound from <c>Realtime</c>: which node this is and which engine it uses.</summary>
public sealed class RealtimeOptions
{
    public const string Section = "Realtime";
    public const string MemoryEngine = "memory";
    public const string PostgresEngine = "postgres";

    /// <summary>This node's id; defaults to the machine name plus a random suffix.</summary>
    [RegularExpression("^[A-Za-z0-9_.@-]{1,64}$", ErrorMessage = "may hold 1 to 64 of A-Z a-z 0-9 _ . @ -")]
    public string NodeId { get; set; } = $"{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid().ToString("N")[..6]}";

    [RegularExpression("^(memory|postgres)$", ErrorMessage = "must be 'memory' or 'postgres'")]
    public string Engine { get; set; } = MemoryEngine;

    /// <summary>The engine, read before the options are bound (it decides which providers are added).</summary>
    public static string EngineOf(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var engine = configuration[$"{Section}:Engine"] ?? MemoryEngine;
        return engine is MemoryEngine or PostgresEngine ? engine
            : throw new InvalidOperationException($"Realtime:Engine is '{engine}'; it must be '{MemoryEngine}' or '{PostgresEngine}'.");
    }
}
