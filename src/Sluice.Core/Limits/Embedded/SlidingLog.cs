namespace Sluice.Core.Limits.Embedded;

/// <summary>
/// The admission times of one counter, oldest first, in a ring of 32-bit millisecond offsets from a base
/// (4 bytes per request: a fully used 150-request counter holds 600 bytes of times). The ring grows on
/// demand up to the limit, so a counter that saw one request costs a few bytes.
/// Not thread-safe: callers hold the log's lock.
/// </summary>
internal sealed class SlidingLog
{
    private const int InitialCapacity = 4;
    private static long s_nextOrder;

    private long _base;
    private int[] _ring;
    private int _head;
    private int _count;

    public SlidingLog(long windowMs, int capacity = InitialCapacity)
    {
        _ring = new int[Math.Max(capacity, 1)];
        WindowMs = windowMs;
        Order = Interlocked.Increment(ref s_nextOrder);
    }

    /// <summary>A process-wide number that fixes the order in which several logs are locked together.</summary>
    public long Order { get; }

    /// <summary>The window of the policy that last used this log; the sweeper trims with it.</summary>
    public long WindowMs { get; set; }

    /// <summary>Set (under the lock) when the log was removed from its limiter; a holder must look again.</summary>
    public bool Dead { get; set; }

    public int Count => _count;

    /// <summary>The i-th oldest admission time, Unix milliseconds.</summary>
    public long At(int index) => _base + _ring[(_head + index) % _ring.Length];

    /// <summary>Forgets every time that has left the window: a time t counts while now &lt; t + window.</summary>
    public void Trim(long now, long windowMs) => TrimThrough(now - windowMs);

    /// <summary>Forgets every time at or before <paramref name="cutoffMs"/>.</summary>
    public void TrimThrough(long cutoffMs)
    {
        var cutoff = cutoffMs - _base;
        while (_count > 0 && _ring[_head] <= cutoff)
        {
            _head = _head + 1 == _ring.Length ? 0 : _head + 1;
            _count--;
        }
        if (_count == 0)
        {
            _head = 0;
        }
    }

    /// <summary>Milliseconds until the oldest time stops counting under <paramref name="policy"/> (0 when empty).</summary>
    public long ResetAfter(long now, LimitPolicy policy) => _count == 0 ? 0 : Math.Max(0, policy.ExpiryMs(At(0), now) - now);

    /// <summary>Milliseconds until one more request fits under the policy's limit (0 when it fits now).</summary>
    public long RetryAfter(long now, LimitPolicy policy)
    {
        var limit = policy.Limit;
        if (_count < limit)
        {
            return 0;
        }
        if (limit == 0)
        {
            return Math.Max(1, policy.ExpiryMs(now, now) - now);
        }
        return Math.Max(1, policy.ExpiryMs(At(_count - limit), now) - now);
    }

    /// <summary>Records an admission at <paramref name="now"/>, which is never earlier than the newest time.</summary>
    public void Append(long now, int limit)
    {
        if (_count == 0)
        {
            _base = now;
        }
        else if (now - _base > int.MaxValue)
        {
            Rebase();
        }
        if (_count == _ring.Length)
        {
            Grow(limit);
        }
        var tail = _head + _count;
        if (tail >= _ring.Length)
        {
            tail -= _ring.Length;
        }
        _ring[tail] = (int)(now - _base);
        _count++;
    }

    /// <summary>Removes one occurrence of <paramref name="time"/> (a request given back); false when absent.</summary>
    public bool Remove(long time)
    {
        for (var i = _count - 1; i >= 0; i--)
        {
            if (At(i) != time)
            {
                continue;
            }
            for (var j = i; j < _count - 1; j++)
            {
                _ring[(_head + j) % _ring.Length] = _ring[(_head + j + 1) % _ring.Length];
            }
            _count--;
            return true;
        }
        return false;
    }

    /// <summary>Copies the times, oldest first, into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<long> destination)
    {
        for (var i = 0; i < _count; i++)
        {
            destination[i] = At(i);
        }
    }

    /// <summary>Approximate bytes this log holds, for memory reporting.</summary>
    public int ApproximateBytes => 56 + 24 + (4 * _ring.Length);

    private void Rebase()
    {
        // Every live time is within the window (at most 24 days) of now, so offsets from the oldest fit in 32 bits.
        var oldest = At(0);
        var shift = oldest - _base;
        var ring = new int[_ring.Length];
        for (var i = 0; i < _count; i++)
        {
            ring[i] = (int)(_ring[(_head + i) % _ring.Length] - shift);
        }
        _ring = ring;
        _head = 0;
        _base = oldest;
    }

    private void Grow(int limit)
    {
        var size = Math.Max(_count + 1, Math.Min(_ring.Length * 2, limit));
        var ring = new int[size];
        for (var i = 0; i < _count; i++)
        {
            ring[i] = _ring[(_head + i) % _ring.Length];
        }
        _ring = ring;
        _head = 0;
    }
}
