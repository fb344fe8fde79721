namespace Sluice.Core.Storage;

/// <summary>
/// The durable store (the key database: SQLite or PostgreSQL) cannot be reached or cannot work right now: the
/// server is down, restarting or refusing connections, the file cannot be opened. Nothing was changed. Callers that
/// serve from memory (API requests with known keys) are not affected; calls that need the store answer 503.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>When to try again.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(2);
}
