using System.Diagnostics;

namespace Sluice.Benchmarks;

/// <summary>
/// Timings of one open-loop run (<see cref="OpenLoop"/>), indexed by call: how late each call started, its latency
/// from the call and from its scheduled time, the most calls in flight at once, failures, and the achieved rate.
/// Shared by the <c>--redis</c> report and <c>bench/Sluice.Bench.Load</c>.
/// </summary>
public sealed class OpenLoopRun(int count)
{
    private long _first;
    private long _last;
    private int _inFlight;
    private int _maxInFlight;
    private int _bad;
    private int _failed;

    public int Count { get; } = count;

    public long[] FromSchedule { get; } = new long[count];

    public long[] FromSend { get; } = new long[count];

    public long[] Late { get; } = new long[count];

    /// <summary>Calls answered with a status outside 2xx.</summary>
    public int Bad => _bad;

    /// <summary>Calls that threw.</summary>
    public int Failed => _failed;

    public int MaxInFlight => _maxInFlight;

    public string? FirstError { get; private set; }

    public double Achieved { get; private set; }

    /// <summary>
    /// Starts rate × seconds calls at a fixed rate (<see cref="OpenLoop"/>) and times each: <paramref name="call"/>
    /// makes call i and returns its HTTP status, or 0 where there is none; it may record a failure with
    /// <see cref="Error"/>.
    /// </summary>
    public static async Task<OpenLoopRun> RunAsync(double rate, double seconds, Func<int, OpenLoopRun, Task<int>> call)
    {
        var run = new OpenLoopRun((int)(rate * seconds));
        await OpenLoop.Run(rate, run.Count, async (i, due) =>
        {
            var sent = Stopwatch.GetTimestamp();
            run.Started(i, due, sent);
            var status = await call(i, run);
            run.Done(i, due, sent, Stopwatch.GetTimestamp(), status);
        });
        run.Finish();
        return run;
    }

    public void Started(int i, long due, long sent)
    {
        Late[i] = sent - due;
        if (i == 0)
        {
            _first = due;
        }
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
    }

    public void Error(Exception exception)
    {
        if (Interlocked.Increment(ref _failed) == 1)
        {
            FirstError = exception.GetType().Name + ": " + exception.Message;
        }
    }

    /// <summary>A call answered; <paramref name="status"/> is its HTTP status, or 0 where there is none.</summary>
    public void Done(int i, long due, long sent, long done, int status = 0)
    {
        Interlocked.Decrement(ref _inFlight);
        FromSend[i] = done - sent;
        FromSchedule[i] = done - due;
        if (status != 0 && status is < 200 or > 299 && Interlocked.Increment(ref _bad) == 1)
        {
            FirstError = $"HTTP {status}";
        }
        long seen;
        while (done > (seen = Interlocked.Read(ref _last)) && Interlocked.CompareExchange(ref _last, done, seen) != seen)
        {
        }
    }

    /// <summary>Achieved rate: calls answered well / (last answer - first scheduled time).</summary>
    public void Finish() => Achieved = (Count - _bad - _failed) / ((_last - _first) / (double)Stopwatch.Frequency);
}
