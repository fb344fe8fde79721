namespace Sluice.Core.Limits;

/// <summary>One counter a request must fit into: at most <see cref="Limit"/> admitted requests in any
/// rolling window of <see cref="WindowMs"/>. A request is admitted only if it fits into every check it carries.</summary>
public readonly struct LimitCheck
{
    public LimitCheck(LimitPolicy policy, CounterKey counter)
    {
        // A default CounterKey names no counter (the embedded limiter would take it for an empty slot).
        ArgumentNullException.ThrowIfNull(counter.Scope, nameof(counter));
        Policy = policy;
        Counter = counter;
    }

    public LimitPolicy Policy { get; }

    public CounterKey Counter { get; }

    public int Limit => Policy.Limit;

    public long WindowMs => Policy.WindowMs;

    /// <summary>How long the counter keeps its times (see <see cref="LimitPolicy.RetentionMs"/>).</summary>
    public long RetentionMs => Policy.RetentionMs;
}
