using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Sluice.Benchmarks;

/// <summary>
/// Open-loop pacing: call <c>i</c> is started at <c>t0 + i / rate</c> on a dedicated thread whether or not earlier
/// calls have finished, so a slow answer never delays the next call, and a latency measured from the scheduled
/// time includes every queue on the way (no coordinated omission). Between due times the thread sleeps with
/// <c>usleep</c> and a 1 µs timer slack (Thread.Sleep has 1 ms granularity; spinning would take a core of two).
/// Linux only. Shared by the <c>--redis</c> mode and <c>bench/Sluice.Bench.Load</c>.
/// </summary>
public static partial class OpenLoop
{
    private const int PrSetTimerSlack = 29;

    /// <summary>Starts <paramref name="count"/> calls at <paramref name="rate"/> per second; returns their tasks once all are started.</summary>
    /// <param name="start">Called with the call's index and its scheduled <see cref="Stopwatch"/> timestamp.</param>
    public static Task[] Run(double rate, int count, Func<int, long, Task> start)
    {
        var tasks = new Task[count];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Pace(rate, tasks, start);
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        })
        { IsBackground = true, Name = "open-loop pacer" };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("The pacer failed.", failure);
        }
        return tasks;
    }

    private static void Pace(double rate, Task[] tasks, Func<int, long, Task> start)
    {
        _ = prctl(PrSetTimerSlack, 1_000, 0, 0, 0);
        var interval = Stopwatch.Frequency / rate;
        var t0 = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 100);
        for (var i = 0; i < tasks.Length; i++)
        {
            var due = t0 + (long)(i * interval);
            while (true)
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait <= 0)
                {
                    break;
                }
                _ = usleep((uint)Math.Max(1, wait * 1_000_000 / Stopwatch.Frequency));
            }
            tasks[i] = start(i, due);
        }
    }

    [LibraryImport("libc")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int usleep(uint microseconds);

    [LibraryImport("libc")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
