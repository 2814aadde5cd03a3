using System.ComponentModel.DataAnnotations;

namespace Realtime.Grains.Stores.Postgres;

/// <summary>Settings of the PostgreSQL engine, bound from <c>Realtime:Postgres</c>.</summary>
public sealed class PostgresOptions
{
    public const string Section = "Realtime:Postgres";

    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Username=realtime;Password=…;Database=realtime</c>.</summary>
    [Required(ErrorMessage = "is required when Realtime:Engine is 'postgres'")]
    public string ConnectionString { get; set; } = "";

    /// <summary>The most appends one group commit carries.</summary>
    [Range(1, 10_000)]
    public int MaxBatch { get; set; } = 256;

    /// <summary>How long a starting node waits for PostgreSQL to come up before it gives up.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
