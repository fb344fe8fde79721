namespace Sluice.Core.Limits;

/// <summary>A counter as the limiter saw it while deciding: how much is used, and when room returns.</summary>
public readonly record struct CounterState(
    LimitPolicy Policy,
    int Used,
    long ResetAfterMs,
    long RetryAfterMs)
{
    public int Limit => Policy.Limit;

    public int Remaining => Math.Max(0, Policy.Limit - Used);

    /// <summary>True when this counter had no room for the request.</summary>
    public bool Exhausted => RetryAfterMs > 0;
}
