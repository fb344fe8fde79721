namespace Sluice.Core.Limits;

/// <summary>
/// The limiter's answer for one request: admitted into every counter, or refused by at least one and
/// counted in none. <see cref="Counters"/> follows the order of the checks.
/// </summary>
public sealed class AdmissionResult
{
    public AdmissionResult(bool admitted, CounterState[] counters, long timestampMs)
    {
        Admitted = admitted;
        Counters = counters;
        TimestampMs = timestampMs;
    }

    public bool Admitted { get; }

    /// <summary>Which limiter decided, when several stand behind one (e.g. <c>redis</c> or <c>local</c> during an outage).</summary>
    public string? DecidedBy { get; init; }

    /// <summary>Each counter after the decision (used includes this request when admitted).</summary>
    public CounterState[] Counters { get; }

    /// <summary>The limiter's clock at the decision, Unix milliseconds; the time recorded when admitted.</summary>
    public long TimestampMs { get; }

    /// <summary>When a refused request may be retried: the longest wait over every exhausted counter.</summary>
    public long RetryAfterMs
    {
        get
        {
            long wait = 0;
            foreach (var counter in Counters)
            {
                wait = Math.Max(wait, counter.RetryAfterMs);
            }
            return wait;
        }
    }

    /// <summary>
    /// The counters as they stand once this admitted request is given back (its upstream failed): one fewer in
    /// each; a counter left with nothing resets at once. Its own time was the newest in every counter, so the
    /// oldest, which sets the reset, stays where it was.
    /// </summary>
    public AdmissionResult GivenBack()
    {
        if (!Admitted)
        {
            return this;
        }
        var counters = new CounterState[Counters.Length];
        for (var i = 0; i < counters.Length; i++)
        {
            var used = Math.Max(0, Counters[i].Used - 1);
            counters[i] = Counters[i] with { Used = used, ResetAfterMs = used == 0 ? 0 : Counters[i].ResetAfterMs };
        }
        return new AdmissionResult(true, counters, TimestampMs) { DecidedBy = DecidedBy };
    }

    /// <summary>
    /// The counter that binds: when refused, the exhausted one with the longest wait; when admitted, the one
    /// with the least room left (the longer reset on a tie). -1 when there are no counters.
    /// </summary>
    public int BindingIndex
    {
        get
        {
            var best = -1;
            for (var i = 0; i < Counters.Length; i++)
            {
                if (best < 0 || Binds(Counters[i], Counters[best]))
                {
                    best = i;
                }
            }
            return best;
        }
    }

    private bool Binds(in CounterState candidate, in CounterState current)
    {
        if (!Admitted && candidate.Exhausted != current.Exhausted)
        {
            return candidate.Exhausted;
        }
        if (!Admitted && candidate.Exhausted)
        {
            return candidate.RetryAfterMs > current.RetryAfterMs;
        }
        return candidate.Remaining < current.Remaining
            || (candidate.Remaining == current.Remaining && candidate.ResetAfterMs > current.ResetAfterMs);
    }
}
