namespace Sluice.Core.Plans;

/// <summary>One configured request limit: at most <see cref="Requests"/> per rolling <see cref="Window"/>.</summary>
public sealed class RequestLimitSettings
{
    /// <summary>Names the limit in headers and messages; by default <c>key</c> / <c>ip</c> from the scope
    /// (a <see cref="LimitScope.KeyAndIp"/> limit named <c>daily</c> makes <c>daily-key</c> and <c>daily-ip</c>).</summary>
    public string? Name { get; set; }

    public LimitScope Scope { get; set; } = LimitScope.KeyAndIp;

    public int Requests { get; set; }

    public TimeSpan Window { get; set; }
}
