using System.Runtime.CompilerServices;

namespace Sluice.Core.Limits.Embedded;

/// <summary>
/// The embedded limiter: an exact sliding log per counter, in process memory (a <see cref="CounterTable"/>). A
/// decision locks the stripes of all its counters (in increasing order, so two decisions never deadlock), trims
/// the counters, and appends to all of them or to none. Times come from <see cref="TimeProvider"/>, clamped so
/// that they never run backwards.
/// </summary>
public sealed partial class InMemoryRequestLimiter : IRequestLimiter
{
    private const int InlineChecks = 16;

    private readonly CounterTable _table = new();
    private readonly TimeProvider _time;
    private long _lastNow;

    public InMemoryRequestLimiter(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>How many counters the limiter holds (those emptied are dropped by <see cref="Sweep"/>).</summary>
    public int CounterCount => _table.Count;

    /// <summary>Bytes of the counter table held outside the managed heap (the entries; their overflow rings are managed).</summary>
    internal long NativeBytes => _table.NativeBytes;

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
        var admitted = Decide(checks, states, out var now);
        return new AdmissionResult(admitted, states, now);
    }

    /// <summary>The decision of <see cref="TryAdmit"/>, writing each counter's state into <paramref name="states"/>.</summary>
    [SkipLocalsInit]
    internal unsafe bool Decide(ReadOnlySpan<LimitCheck> checks, Span<CounterState> states, out long now)
    {
        var inline = checks.Length <= InlineChecks;
        Span<int> stripes = inline ? stackalloc int[checks.Length] : new int[checks.Length];
        Span<int> locked = inline ? stackalloc int[checks.Length] : new int[checks.Length];
        Span<int> slots = inline ? stackalloc int[checks.Length] : new int[checks.Length];
        Span<nint> entries = inline ? stackalloc nint[checks.Length] : new nint[checks.Length];
        for (var i = 0; i < checks.Length; i++)
        {
            stripes[i] = CounterTable.StripeOf(checks[i].Counter.Id);
        }
        _table.Touch(checks, stripes);
        var held = LockStripes(stripes, locked);
        try
        {
            FindOrAdd(checks, stripes, slots);
            // Every counter is in place and no stripe grows until the locks are released: the entries stay put.
            for (var i = 0; i < checks.Length; i++)
            {
                entries[i] = (nint)Unsafe.AsPointer(ref _table[stripes[i]][slots[i]]);
            }
            // The clock is read under the locks, so every counter receives its times in order.
            now = Now();
            var admitted = true;
            for (var i = 0; i < checks.Length; i++)
            {
                ref var entry = ref *(CounterEntry*)entries[i];
                ref readonly var check = ref checks[i];
                entry.TrimThrough(_table[stripes[i]].Rings, check.Policy.CutoffMs(now));
                entry.RetentionMs = (int)Math.Max(entry.RetentionMs, check.RetentionMs);
                admitted &= entry.Count < check.Limit;
            }
            for (var i = 0; i < checks.Length; i++)
            {
                ref var entry = ref *(CounterEntry*)entries[i];
                var rings = _table[stripes[i]].Rings;
                var policy = checks[i].Policy;
                var retry = admitted ? 0 : entry.RetryAfter(rings, now, policy);
                if (admitted)
                {
                    entry.Append(rings, now, policy.Limit);
                }
                states[i] = new CounterState(policy, entry.Count, entry.ResetAfter(rings, now, policy), retry);
            }
            return admitted;
        }
        finally
        {
            UnlockStripes(locked[..held]);
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
            var stripe = _table[CounterTable.StripeOf(check.Counter.Id)];
            lock (stripe.Gate)
            {
                // A counter not there yet reads as an empty one.
                var absent = default(CounterEntry);
                var slot = stripe.Find(check.Counter.Id);
                ref var entry = ref slot >= 0 ? ref stripe[slot] : ref absent;
                entry.TrimThrough(stripe.Rings, check.Policy.CutoffMs(now));
                var retry = entry.RetryAfter(stripe.Rings, now, check.Policy);
                fits &= retry == 0;
                states[i] = new CounterState(check.Policy, entry.Count, entry.ResetAfter(stripe.Rings, now, check.Policy), retry);
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
            var stripe = _table[CounterTable.StripeOf(check.Counter.Id)];
            lock (stripe.Gate)
            {
                var slot = stripe.Find(check.Counter.Id);
                released += slot >= 0 && stripe[slot].Remove(stripe.Rings, timestampMs) ? 1 : 0;
            }
        }
        return released;
    }

    /// <summary>Forgets counters whose every time has left the window; run periodically to bound memory.</summary>
    public int Sweep()
    {
        var now = Now();
        var removed = 0;
        for (var i = 0; i < CounterTable.StripeCount; i++)
        {
            var stripe = _table[i];
            lock (stripe.Gate)
            {
                removed += stripe.Sweep(now);
            }
        }
        return removed;
    }

    /// <summary>Unix milliseconds from the time provider, never less than a time already handed out.</summary>
    private long Now() => RaiseLastNow(_time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Makes the last time handed out at least <paramref name="time"/>; returns it as it then stands.</summary>
    private long RaiseLastNow(long time)
    {
        var last = Volatile.Read(ref _lastNow);
        while (time > last)
        {
            var seen = Interlocked.CompareExchange(ref _lastNow, time, last);
            if (seen == last)
            {
                return time;
            }
            last = seen;
        }
        return last;
    }

    /// <summary>Finds every check's counter, adding those not there yet; all slots are valid when it returns.</summary>
    private void FindOrAdd(ReadOnlySpan<LimitCheck> checks, ReadOnlySpan<int> stripes, Span<int> slots)
    {
        for (var i = 0; i < checks.Length; i++)
        {
            var stripe = _table[stripes[i]];
            slots[i] = stripe.FindOrAdd(checks[i].Counter.Id, checks[i].RetentionMs, out var moved);
            if (moved)
            {
                // The stripe grew: slots found before in it are stale. Every counter is there now; find them again.
                for (var j = 0; j < i; j++)
                {
                    slots[j] = _table[stripes[j]].Find(checks[j].Counter.Id);
                }
            }
        }
    }

    /// <summary>
    /// Locks the distinct <paramref name="stripes"/> in increasing order; returns how many, their indexes leading
    /// <paramref name="locked"/>.
    /// </summary>
    private int LockStripes(ReadOnlySpan<int> stripes, Span<int> locked)
    {
        var distinct = 0;
        foreach (var stripe in stripes)
        {
            var at = distinct;
            while (at > 0 && locked[at - 1] > stripe)
            {
                at--;
            }
            if (at > 0 && locked[at - 1] == stripe)
            {
                continue;
            }
            for (var k = distinct; k > at; k--)
            {
                locked[k] = locked[k - 1];
            }
            locked[at] = stripe;
            distinct++;
        }
        var held = 0;
        try
        {
            for (; held < distinct; held++)
            {
                _table[locked[held]].Gate.Enter();
            }
            return distinct;
        }
        catch
        {
            UnlockStripes(locked[..held]);
            throw;
        }
    }

    private void UnlockStripes(ReadOnlySpan<int> stripes)
    {
        for (var i = stripes.Length - 1; i >= 0; i--)
        {
            _table[stripes[i]].Gate.Exit();
        }
    }
}
