namespace Realtime.Silo;

/// <summary>The ADO.NET invariant Orleans' PostgreSQL providers load Npgsql by.</summary>
internal static class OrleansAdoNet
{
    public const string Invariant = "Npgsql";
}
