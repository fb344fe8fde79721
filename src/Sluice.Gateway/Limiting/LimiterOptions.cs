namespace Sluice.Gateway.Limiting;

/// <summary>The embedded limiter's upkeep (<c>Sluice:Limiter</c>).</summary>
public sealed class LimiterOptions
{
    public const string Section = "Sluice:Limiter";

    /// <summary>How often the in-memory counters are saved to the data directory (they are also saved on a graceful stop).</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often counters whose requests have all left their window are dropped from memory.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);
}
