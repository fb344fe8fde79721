using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Limiting;

/// <summary>
/// The embedded limiter when it is the only one (no Redis): its decisions are counted and timed like the shared
/// limiter's (<c>sluice_limiter_decisions_total</c>, <c>sluice_limiter_decision_duration_seconds</c>), with
/// <c>backend="embedded"</c>.
/// </summary>
public sealed class MeteredEmbeddedLimiter : IRequestLimiter, IComponentHealth
{
    private readonly InMemoryRequestLimiter _limiter;
    private readonly LimiterMetrics _metrics;

    public MeteredEmbeddedLimiter(InMemoryRequestLimiter limiter, LimiterMetrics metrics)
    {
        _limiter = limiter;
        _metrics = metrics;
    }

    HealthCheckResult IComponentHealth.Health => HealthCheckResult.Healthy("embedded: counted in this process");

    public ValueTask<AdmissionResult> TryAdmitAsync(ReadOnlyMemory<LimitCheck> checks, string requestId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var result = _limiter.TryAdmit(checks.Span);
        _metrics.Decided(LimiterMetrics.Embedded, result.Admitted, started);
        return ValueTask.FromResult(result);
    }

    public ValueTask<AdmissionResult> PeekAsync(ReadOnlyMemory<LimitCheck> checks, CancellationToken cancellationToken) =>
        _limiter.PeekAsync(checks, cancellationToken);

    public ValueTask<int> ReleaseAsync(ReadOnlyMemory<LimitCheck> checks, AdmissionResult admitted, CancellationToken cancellationToken) =>
        _limiter.ReleaseAsync(checks, admitted, cancellationToken);
}
