namespace Sluice.Core.Limits;

/// <summary>The limiter cannot decide right now (its store is unreachable and the outage policy is to refuse).</summary>
public sealed class LimiterUnavailableException : Exception
{
    public LimiterUnavailableException()
    {
    }

    public LimiterUnavailableException(string message)
        : base(message)
    {
    }

    public LimiterUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>When to try again.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(5);
}
