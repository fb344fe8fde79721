using System.Diagnostics.Metrics;
using Sluice.Core.Limits;
using Sluice.Gateway.Limiting;

namespace Sluice.Gateway.Admission;

/// <summary>Requests admitted, and requests refused by which limit.</summary>
public sealed class AdmissionMetrics
{
    private readonly Counter<long> _rejected;

    // Every admitted request counts here, read when /metrics is scraped (one atomic add instead of the SDK's aggregation).
    private long _admitted;

    public AdmissionMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(LimiterMetrics.MeterName);
        meter.CreateObservableCounter("sluice.requests.admitted", () => Volatile.Read(ref _admitted), "{request}", "Requests admitted by the limiter.");
        _rejected = meter.CreateCounter<long>("sluice.requests.rejected", "{request}", "Requests refused, by the limit that refused them (or 'unavailable', or 'ip_denied' for the client access lists).");
    }

    public void Admitted() => Interlocked.Increment(ref _admitted);

    public void Rejected(AdmissionResult result)
    {
        if (_rejected.Enabled)
        {
            var binding = result.Counters[result.BindingIndex].Policy;
            _rejected.Add(1, new KeyValuePair<string, object?>("limit", binding.Name), new KeyValuePair<string, object?>("plan", binding.Plan));
        }
    }

    public void Unavailable() => _rejected.Add(1, new KeyValuePair<string, object?>("limit", "unavailable"));

    /// <summary>A client the allow and deny lists shut out (<c>Sluice:ClientIp:Allow</c>, <c>:Deny</c>).</summary>
    public void Denied() => _rejected.Add(1, new KeyValuePair<string, object?>("limit", "ip_denied"));
}
