using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sluice.Gateway.Limiting;

/// <summary>The limiter's instruments: decisions by backend and result, their duration, and whether it is degraded.</summary>
public sealed class LimiterMetrics
{
    public const string MeterName = "Sluice";

    /// <summary>
    /// Upper bounds (seconds) of the duration histogram: fine around 1 ms, where a shared (Redis) decision's target
    /// lies, so that its p99 can be read from <c>/metrics</c> to within a quarter or half of a millisecond; then
    /// up to the Redis timeouts.
    /// </summary>
    private static readonly double[] Buckets =
        [0.000_01, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.000_75, 0.001, 0.001_5, 0.002, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    /// <summary>The <c>backend</c> of a decision: the embedded limiter alone, Redis, or (while Redis is unavailable) the
    /// outage policy's local limiter, open or closed.</summary>
    public const string Embedded = "embedded";
    public const string Redis = "redis";
    public const string Local = "local";
    public const string Open = "open";
    public const string Closed = "closed";

    /// <summary>The backends a decision can come from; each has an admitted and a refused count.</summary>
    private static readonly string[] Backends = [Embedded, Redis, Local, Open, Closed];

    private static readonly KeyValuePair<string, object?>[][] DecisionTags =
        [.. Backends.SelectMany(backend => new[] { true, false }.Select(admitted => new[]
        {
            new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("result", admitted ? "admitted" : "refused"),
        }))];

    // Counted here and read when /metrics is scraped: one atomic add per decision, where an instrument's Add costs
    // a look-up of its tags in the SDK's aggregation on every call.
    private readonly long[] _decisions = new long[Backends.Length * 2];
    private readonly Histogram<double> _duration;
    private int _degraded;

    public LimiterMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableCounter("sluice.limiter.decisions", ObserveDecisions, "{decision}", "Admission decisions, by backend (embedded, redis, local, open, closed) and result.");
        _duration = meter.CreateHistogram<double>("sluice.limiter.decision.duration", "s", "Time to take one admission decision.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });
        meter.CreateObservableGauge("sluice.limiter.degraded", () => Volatile.Read(ref _degraded), "{state}", "1 while the shared limiter (Redis) is unavailable and the outage policy applies.");
    }

    public bool Degraded
    {
        get => Volatile.Read(ref _degraded) == 1;
        set => Volatile.Write(ref _degraded, value ? 1 : 0);
    }

    public void Decided(string backend, bool admitted, long startedTimestamp)
    {
        var index = Array.IndexOf(Backends, backend);
        if (index < 0)
        {
            throw new ArgumentException($"Unknown limiter backend '{backend}'.", nameof(backend));
        }
        Interlocked.Increment(ref _decisions[index * 2 + (admitted ? 0 : 1)]);
        if (_duration.Enabled)
        {
            _duration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>("backend", backend));
        }
    }

    private IEnumerable<Measurement<long>> ObserveDecisions()
    {
        for (var i = 0; i < _decisions.Length; i++)
        {
            var count = Volatile.Read(ref _decisions[i]);
            if (count > 0)
            {
                yield return new Measurement<long>(count, DecisionTags[i]);
            }
        }
    }
}
