namespace Sluice.Testing.Limits;

/// <summary>
/// The brute-force definition of the joint limit: keep every admitted time per counter and count those inside
/// (now − window, now]. Slow and obviously right; the limiters are compared with it.
/// </summary>
public sealed class LimitOracle
{
    private readonly Dictionary<string, List<long>> _admitted = new(StringComparer.Ordinal);

    /// <summary>Admits when every counter has fewer than its limit in the window, then records the time in all.</summary>
    public bool TryAdmit(long now, IReadOnlyList<(string Counter, int Limit, long WindowMs)> counters)
    {
        foreach (var (counter, limit, window) in counters)
        {
            if (Count(counter, now, window) >= limit)
            {
                return false;
            }
        }
        foreach (var (counter, _, _) in counters)
        {
            if (!_admitted.TryGetValue(counter, out var times))
            {
                _admitted[counter] = times = [];
            }
            times.Add(now);
        }
        return true;
    }

    public int Count(string counter, long now, long windowMs)
    {
        if (!_admitted.TryGetValue(counter, out var times))
        {
            return 0;
        }
        var count = 0;
        foreach (var time in times)
        {
            if (time > now - windowMs)
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Milliseconds until a request would fit this counter (0 when it fits now).</summary>
    public long RetryAfter(string counter, int limit, long now, long windowMs)
    {
        var inWindow = _admitted.TryGetValue(counter, out var times)
            ? times.Where(t => t > now - windowMs).OrderBy(t => t).ToList()
            : [];
        if (inWindow.Count < limit)
        {
            return 0;
        }
        return limit == 0 ? windowMs : inWindow[inWindow.Count - limit] + windowMs - now;
    }
}
