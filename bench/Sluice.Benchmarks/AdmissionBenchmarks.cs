using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Gateway.Limiting;

namespace Sluice.Benchmarks;

/// <summary>
/// One admission decision (<see cref="InMemoryRequestLimiter.TryAdmit"/>) for one key and one IP under the
/// default joint plan (150 per 24 h per key and per IP), in a steady state:
/// <list type="bullet">
/// <item><see cref="Admitted"/>: both counters full to 149 of 150; the clock moves 24 h / 150 = 576 s per
/// request, so each decision trims the oldest time of each counter and appends one: always admitted, the
/// logs stay at 150 times (the most a counter ever holds).</item>
/// <item><see cref="Refused"/>: the key's counter is at 150 of 150 and the clock stands still, so each
/// decision is a 429 (computing the retry time) and counts nothing; the IP's counter has room.</item>
/// <item><see cref="AdmittedMetered"/>: <see cref="Admitted"/> through <see cref="MeteredEmbeddedLimiter"/>, the
/// limiter the gateway runs without Redis, with its instruments listened to by OpenTelemetry and the Prometheus
/// exporter as the gateway registers them: what the per-decision count and duration cost.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
public class AdmissionBenchmarks
{
    private const int Limit = 150;

    private InMemoryRequestLimiter _admitting = null!;
    private MeteredEmbeddedLimiter _metered = null!;
    private ServiceProvider _services = null!;
    private InMemoryRequestLimiter _refusing = null!;
    private LimitCheck[] _checks = null!;
    private LimitCheck[] _refusedChecks = null!;

    [GlobalSetup]
    public void Setup()
    {
        var plan = Subjects.DefaultPlan();
        var random = new Random(1);
        var keyId = Subjects.KeyId(random);
        _checks = plan.ChecksFor(keyId, Subjects.Ipv4Group(1));

        _admitting = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.FromDays(1) / Limit));
        for (var i = 0; i < 2 * Limit; i++)
        {
            var result = _admitting.TryAdmit(_checks);
            if (!result.Admitted || result.Counters[0].Used != Math.Min(i + 1, Limit))
            {
                throw new InvalidOperationException($"Steady state not reached: decision {i} admitted={result.Admitted} used={result.Counters[0].Used}.");
            }
        }

        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(LimiterMetrics.MeterName).AddPrometheusExporter());
        _services = services.BuildServiceProvider();
        _ = _services.GetRequiredService<MeterProvider>();
        var steady = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.FromDays(1) / Limit));
        _metered = new MeteredEmbeddedLimiter(steady, new LimiterMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        for (var i = 0; i < 2 * Limit; i++)
        {
            steady.TryAdmit(_checks);
        }

        _refusing = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.Zero));
        var elsewhere = plan.ChecksFor(keyId, Subjects.Ipv4Group(2));
        for (var i = 0; i < Limit; i++)
        {
            _refusing.TryAdmit(elsewhere);
        }
        _refusedChecks = plan.ChecksFor(keyId, Subjects.Ipv4Group(3));
        var refused = _refusing.TryAdmit(_refusedChecks);
        if (refused.Admitted || refused.Counters[0].Used != Limit || refused.Counters[1].Used != 0)
        {
            throw new InvalidOperationException("The refusal path is not set up: the key's counter should be full and the IP's empty.");
        }
    }

    [Benchmark(Baseline = true)]
    public AdmissionResult Admitted() => _admitting.TryAdmit(_checks);

    [Benchmark]
    public AdmissionResult Refused() => _refusing.TryAdmit(_refusedChecks);

    [Benchmark]
    public AdmissionResult AdmittedMetered()
    {
        // The embedded limiter decides synchronously: the task is always complete here.
        var decision = _metered.TryAdmitAsync(_checks, "req", CancellationToken.None);
        return decision.IsCompletedSuccessfully ? decision.Result : throw new InvalidOperationException("The embedded decision did not complete synchronously.");
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();
}
