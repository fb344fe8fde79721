using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Gateway.Hosting;
using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

/// <summary>
/// The shared limiter (Redis) behind a short timeout and a circuit breaker (Polly), so that a dead Redis costs at
/// most a few timeouts and then nothing. The timeout is the wait itself
/// (<see cref="Task.WaitAsync(TimeSpan, CancellationToken)"/>, one timer per call): StackExchange.Redis takes no
/// cancellation token, so a Polly timeout would only cancel a token that the same kind of wait then has to watch.
/// While Redis is unavailable the outage policy decides: <c>local</c> uses this instance's embedded limiter,
/// <c>open</c> admits, <c>closed</c> refuses with 503. The breaker probes Redis again after
/// <see cref="LimiterOptions.BreakDuration"/> and the gateway returns to it by itself.
/// </summary>
internal sealed partial class ResilientRequestLimiter : IRequestLimiter, IComponentHealth
{
    private const string Shared = LimiterMetrics.Redis;
    private const string Local = LimiterMetrics.Local;

    private readonly IRequestLimiter _shared;
    private readonly InMemoryRequestLimiter _local;
    private readonly LimiterOutagePolicy _policy;
    private readonly TimeSpan _breakDuration;
    private readonly LimiterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeSpan _timeout;
    private readonly Trouble _trouble;

    public ResilientRequestLimiter(
        IRequestLimiter shared, InMemoryRequestLimiter local, IOptions<LimiterOptions> options, TimeSpan timeout, LimiterMetrics metrics, TimeProvider time, ILogger<ResilientRequestLimiter> logger)
    {
        _trouble = new Trouble(time);
        _shared = shared;
        _local = local;
        _policy = options.Value.OutagePolicy;
        _breakDuration = options.Value.BreakDuration;
        _metrics = metrics;
        _logger = logger;
        _timeout = timeout;
        var outage = new PredicateBuilder().Handle<RedisException>().Handle<TimeoutException>();
        _pipeline = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = outage,
                FailureRatio = 0.5,
                MinimumThroughput = 2,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = _breakDuration,
                OnOpened = args =>
                {
                    _metrics.Degraded = true;
                    _trouble.Fail($"The Redis limiter is unavailable ({RedisFailures.Brief(args.Outcome.Exception)}); outage policy '{_policy.ToString().ToLowerInvariant()}' applies: {PolicyMeaning(_policy)}; Redis is tried again every {_breakDuration.TotalSeconds:0.#} s");
                    LogUnavailable(_logger, _policy, _breakDuration.TotalSeconds, args.Outcome.Exception?.Message ?? "failing");
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    _metrics.Degraded = false;
                    _trouble.Clear();
                    LogRecovered(_logger);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Degraded while the breaker is open and the outage policy decides.</summary>
    public HealthCheckResult Health => _trouble.Result("redis: shared by every instance");

    private static string PolicyMeaning(LimiterOutagePolicy policy) => policy switch
    {
        LimiterOutagePolicy.Open => "every request is admitted",
        LimiterOutagePolicy.Closed => "every request is refused with 503",
        _ => "each instance counts on its own",
    };

    public async ValueTask<AdmissionResult> TryAdmitAsync(ReadOnlyMemory<LimitCheck> checks, string requestId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<AdmissionResult>(state.Shared.TryAdmitAsync(state.Checks, state.RequestId, token).AsTask().WaitAsync(state.Timeout, token)),
                (Shared: _shared, Checks: checks, RequestId: requestId, Timeout: _timeout),
                cancellationToken);
            _metrics.Decided(Shared, result.Admitted, started);
            return new AdmissionResult(result.Admitted, result.Counters, result.TimestampMs) { DecidedBy = Shared };
        }
        catch (Exception exception) when (IsOutage(exception) && !cancellationToken.IsCancellationRequested)
        {
            return Fallback(checks.Span, started);
        }
    }

    public async ValueTask<AdmissionResult> PeekAsync(ReadOnlyMemory<LimitCheck> checks, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<AdmissionResult>(state.Shared.PeekAsync(state.Checks, token).AsTask().WaitAsync(state.Timeout, token)),
                (Shared: _shared, Checks: checks, Timeout: _timeout),
                cancellationToken);
        }
        catch (Exception exception) when (IsOutage(exception) && !cancellationToken.IsCancellationRequested)
        {
            return _local.Peek(checks.Span);
        }
    }

    public async ValueTask<int> ReleaseAsync(ReadOnlyMemory<LimitCheck> checks, AdmissionResult admitted, CancellationToken cancellationToken)
    {
        switch (admitted.DecidedBy)
        {
            case Local:
                return _local.Release(checks.Span, admitted.TimestampMs);
            case Shared:
                try
                {
                    return await _pipeline.ExecuteAsync(
                        static (state, token) => new ValueTask<int>(state.Shared.ReleaseAsync(state.Checks, state.Admitted, token).AsTask().WaitAsync(state.Timeout, token)),
                        (Shared: _shared, Checks: checks, Admitted: admitted, Timeout: _timeout),
                        cancellationToken);
                }
                catch (Exception exception) when (IsOutage(exception) && !cancellationToken.IsCancellationRequested)
                {
                    // Redis is down: the request stays counted there, never more than once.
                    return 0;
                }
            default:
                return 0;
        }
    }

    private AdmissionResult Fallback(ReadOnlySpan<LimitCheck> checks, long started)
    {
        switch (_policy)
        {
            case LimiterOutagePolicy.Open:
                var states = new CounterState[checks.Length];
                for (var i = 0; i < checks.Length; i++)
                {
                    states[i] = new CounterState(checks[i].Policy, 0, 0, 0);
                }
                _metrics.Decided(LimiterMetrics.Open, admitted: true, started);
                return new AdmissionResult(true, states, 0);
            case LimiterOutagePolicy.Closed:
                _metrics.Decided(LimiterMetrics.Closed, admitted: false, started);
                throw new LimiterUnavailableException("The shared rate limiter (Redis) is unavailable.") { RetryAfter = _breakDuration };
            default:
                var result = _local.TryAdmit(checks);
                _metrics.Decided(Local, result.Admitted, started);
                return new AdmissionResult(result.Admitted, result.Counters, result.TimestampMs) { DecidedBy = Local };
        }
    }

    private static bool IsOutage(Exception exception) =>
        exception is RedisException or TimeoutException or BrokenCircuitException;

    [LoggerMessage(EventId = 50, EventName = "SharedLimiterUnavailable", Level = LogLevel.Warning,
        Message = "The Redis limiter is unavailable ({Reason}); outage policy '{Policy}' applies, Redis is tried again in {Seconds} s")]
    private static partial void LogUnavailable(ILogger logger, LimiterOutagePolicy policy, double seconds, string reason);

    [LoggerMessage(EventId = 51, EventName = "SharedLimiterRecovered", Level = LogLevel.Information, Message = "The Redis limiter is back; decisions are shared again")]
    private static partial void LogRecovered(ILogger logger);
}
