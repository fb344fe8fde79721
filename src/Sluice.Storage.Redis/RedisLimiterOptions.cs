namespace Sluice.Storage.Redis;

/// <summary>Where and how the Redis limiter keeps its counters (<c>Sluice:Redis</c>).</summary>
public sealed class RedisLimiterOptions
{
    public const string Section = "Sluice:Redis";

    /// <summary>A StackExchange.Redis connection string (--redis), e.g. <c>127.0.0.1:6379</c>. Empty: the embedded limiter.</summary>
    public string? Configuration { get; set; }

    /// <summary>Every key Sluice writes starts with <c>{prefix}:</c>; the braces make it one Redis Cluster hash slot.</summary>
    public string KeyPrefix { get; set; } = "sluice";

    /// <summary>A PEM file of the CA certificates that Redis's TLS certificate must chain to, instead of the system's
    /// (a Redis behind an internal CA or with a self-signed certificate; the connection string has <c>ssl=true</c>).
    /// Null: the system's trust store.</summary>
    public string? CaCertificate { get; set; }

    /// <summary>How long one decision may take before Redis counts as failing.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a decision is remembered by its request id, so that a retried decision is never counted twice.
    /// A decision is retried, if ever, within the call that asked for it (the timeout is a quarter of a second), so a
    /// minute is ample; each remembered decision takes about 210 bytes of Redis memory (13 MB at 1,000 decisions a
    /// second; it was 5 minutes, 64 MB, before).</summary>
    public TimeSpan RequestIdTtl { get; set; } = TimeSpan.FromMinutes(1);
}
