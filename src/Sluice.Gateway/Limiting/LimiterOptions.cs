namespace Sluice.Gateway.Limiting;

/// <summary>The limiter's upkeep and its behaviour when Redis is unavailable (<c>Sluice:Limiter</c>).</summary>
public sealed class LimiterOptions
{
    public const string Section = "Sluice:Limiter";

    /// <summary>How often the in-memory counters are saved to the data directory (they are also saved on a graceful stop).</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often counters whose requests have all left their window are dropped from memory.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>What to do while Redis cannot be reached (only with <c>--redis</c>).</summary>
    public LimiterOutagePolicy OutagePolicy { get; set; } = LimiterOutagePolicy.Local;

    /// <summary>After Redis failed, how long to stop trying it before one probe decision goes to it again.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>What the gateway does while the shared (Redis) limiter is unavailable.</summary>
public enum LimiterOutagePolicy
{
    /// <summary>Each instance decides with its own embedded limiter until Redis is back (limits hold per instance).</summary>
    Local,

    /// <summary>Admit everything until Redis is back.</summary>
    Open,

    /// <summary>Refuse everything with 503 until Redis is back.</summary>
    Closed,
}
