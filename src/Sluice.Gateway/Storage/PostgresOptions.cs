namespace Sluice.Gateway.Storage;

/// <summary>The shared database (<c>Sluice:Postgres</c>): with a connection string, every store that SQLite would
/// hold (keys now; plans and the usage ledger later) lives in PostgreSQL, shared by every instance.</summary>
public sealed class PostgresOptions
{
    public const string Section = "Sluice:Postgres";

    /// <summary>An Npgsql connection string (--postgres), e.g.
    /// <c>Host=db.internal;Username=sluice;Password=…;Database=sluice</c>. Empty: the embedded SQLite file.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long start-up waits for PostgreSQL to become reachable before giving up (it may be starting too).</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => !string.IsNullOrWhiteSpace(ConnectionString);
}
