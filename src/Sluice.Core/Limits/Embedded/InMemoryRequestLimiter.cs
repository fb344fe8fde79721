using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Sluice.Core.Limits.Embedded;

/// <summary>
/// The embedded limiter: an exact sliding log per counter, in process memory. A decision locks the logs of
/// all its counters (in a fixed order, so two decisions never deadlock), trims them, and appends to all of
/// them or to none. Times come from <see cref="TimeProvider"/>, clamped so that they never run backwards.
/// </summary>
public sealed partial class InMemoryRequestLimiter : IRequestLimiter
{
    private const int InlineChecks = 16;

    private readonly ConcurrentDictionary<CounterKey, SlidingLog> _logs = new();
    private readonly TimeProvider _time;
    private long _lastNow;

    public InMemoryRequestLimiter(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>How many counters hold at least one time (or did at the last sweep).</summary>
    public int CounterCount => _logs.Count;

    public ValueTask<AdmissionResult> TryAdmitAsync(ReadOnlyMemory<LimitCheck> checks, string requestId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TryAdmit(checks.Span));

    public ValueTask<AdmissionResult> PeekAsync(ReadOnlyMemory<LimitCheck> checks, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Peek(checks.Span));

    public ValueTask<int> ReleaseAsync(ReadOnlyMemory<LimitCheck> checks, AdmissionResult admitted, CancellationToken cancellationToken) =>
        ValueTask.FromResult(admitted.Admitted ? Release(checks.Span, admitted.TimestampMs) : 0);

    /// <summary>Admits into every counter or none; see <see cref="IRequestLimiter.TryAdmitAsync"/>.</summary>
    public AdmissionResult TryAdmit(ReadOnlySpan<LimitCheck> checks)
    {
        var states = new CounterState[checks.Length];
        var inline = default(LogBuffer);
        Span<SlidingLog?> logs = checks.Length <= InlineChecks ? inline : new SlidingLog?[checks.Length];
        Span<int> order = checks.Length <= InlineChecks ? stackalloc int[checks.Length] : new int[checks.Length];
        while (true)
        {
            for (var i = 0; i < checks.Length; i++)
            {
                logs[i] = _logs.GetOrAdd(checks[i].Counter, static (_, retention) => new SlidingLog(retention), checks[i].RetentionMs);
            }
            SortByLockOrder(logs, order);
            var held = 0;
            try
            {
                var dead = false;
                for (; held < order.Length; held++)
                {
                    var log = logs[order[held]]!;
                    Monitor.Enter(log);
                    dead |= log.Dead;
                }
                if (dead)
                {
                    continue;
                }
                // The clock is read under the locks, so every log receives its times in order.
                var now = Now();
                var admitted = true;
                for (var i = 0; i < checks.Length; i++)
                {
                    var log = logs[i]!;
                    log.TrimThrough(checks[i].Policy.CutoffMs(now));
                    log.WindowMs = Math.Max(log.WindowMs, checks[i].RetentionMs);
                    admitted &= log.Count < checks[i].Limit;
                }
                for (var i = 0; i < checks.Length; i++)
                {
                    var log = logs[i]!;
                    var policy = checks[i].Policy;
                    var retry = admitted ? 0 : log.RetryAfter(now, policy);
                    if (admitted)
                    {
                        log.Append(now, checks[i].Limit);
                    }
                    states[i] = new CounterState(policy, log.Count, log.ResetAfter(now, policy), retry);
                }
                return new AdmissionResult(admitted, states, now);
            }
            finally
            {
                for (var k = held - 1; k >= 0; k--)
                {
                    Monitor.Exit(logs[order[k]]!);
                }
            }
        }
    }

    /// <summary>Reports the counters without counting.</summary>
    public AdmissionResult Peek(ReadOnlySpan<LimitCheck> checks)
    {
        var states = new CounterState[checks.Length];
        var now = Now();
        var fits = true;
        for (var i = 0; i < checks.Length; i++)
        {
            var check = checks[i];
            if (!_logs.TryGetValue(check.Counter, out var log))
            {
                states[i] = new CounterState(check.Policy, 0, 0, check.Limit == 0 ? Math.Max(1, check.Policy.ExpiryMs(now, now) - now) : 0);
                fits &= check.Limit > 0;
                continue;
            }
            lock (log)
            {
                log.TrimThrough(check.Policy.CutoffMs(now));
                var retry = log.RetryAfter(now, check.Policy);
                fits &= retry == 0;
                states[i] = new CounterState(check.Policy, log.Count, log.ResetAfter(now, check.Policy), retry);
            }
        }
        return new AdmissionResult(fits, states, now);
    }

    /// <summary>
    /// Gives back a request admitted at <paramref name="timestampMs"/> (e.g. one the upstream failed), removing
    /// its time from each counter. Returns how many counters held it.
    /// </summary>
    public int Release(ReadOnlySpan<LimitCheck> checks, long timestampMs)
    {
        var released = 0;
        foreach (var check in checks)
        {
            if (_logs.TryGetValue(check.Counter, out var log))
            {
                lock (log)
                {
                    released += log.Remove(timestampMs) ? 1 : 0;
                }
            }
        }
        return released;
    }

    /// <summary>Forgets counters whose every time has left the window; run periodically to bound memory.</summary>
    public int Sweep()
    {
        var now = Now();
        var removed = 0;
        foreach (var pair in _logs)
        {
            var log = pair.Value;
            lock (log)
            {
                log.Trim(now, log.WindowMs);
                if (log.Count == 0 && !log.Dead)
                {
                    // Removed under the log's lock: a decision that finds the log dead looks it up again.
                    log.Dead = true;
                    _logs.TryRemove(pair);
                    removed++;
                }
            }
        }
        return removed;
    }

    /// <summary>Unix milliseconds from the time provider, never less than a time already handed out.</summary>
    private long Now()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var last = Volatile.Read(ref _lastNow);
        while (now > last)
        {
            var seen = Interlocked.CompareExchange(ref _lastNow, now, last);
            if (seen == last)
            {
                return now;
            }
            last = seen;
        }
        return last;
    }

    private static void SortByLockOrder(Span<SlidingLog?> logs, Span<int> order)
    {
        for (var i = 0; i < order.Length; i++)
        {
            var j = i;
            var key = logs[i]!.Order;
            while (j > 0 && logs[order[j - 1]]!.Order > key)
            {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
    }

    [InlineArray(InlineChecks)]
    private struct LogBuffer
    {
        private SlidingLog? _element;
    }
}
