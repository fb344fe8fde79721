namespace Sluice.Gateway.Metering;

/// <summary>How ledger rows are written (<c>Sluice:Metering</c>).</summary>
public sealed class MeteringOptions
{
    public const string Section = "Sluice:Metering";

    /// <summary>Most rows written in one transaction.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>How long a row may wait for others before its batch is written.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Rows kept in memory while the database is unavailable; when full, finished calls wait for room.</summary>
    public int BufferCapacity { get; set; } = 100_000;
}
