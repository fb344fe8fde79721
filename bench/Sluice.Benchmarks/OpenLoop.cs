using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Sluice.Benchmarks;

/// <summary>
/// Open-loop pacing: call <c>i</c> is started at <c>t0 + i / rate</c> on a dedicated thread whether or not earlier
/// calls have finished, so a slow answer never delays the next call, and a latency measured from the scheduled
/// time includes every queue on the way (no coordinated omission). Between due times the thread sleeps with
/// <c>usleep</c> and a 1 µs timer slack (Thread.Sleep has 1 ms granularity; spinning would take a core of two).
/// Linux only. Shared by the <c>--redis</c> mode and <c>bench/Sluice.Bench.Load</c>.
/// The calls' tasks are not kept: at 5,000/s for 15 s, holding 75,000 finished tasks (and their state machines)
/// until the end made every one survive into gen 2, and the measuring process's own GC pauses showed in the tail
/// it measured (docs/benchmarks.md 4.8).
/// </summary>
public static partial class OpenLoop
{
    private const int PrSetTimerSlack = 29;

    /// <summary>
    /// Starts <paramref name="count"/> calls at <paramref name="rate"/> per second; returns, once all are started, a
    /// task that completes when every call has (faulted with the first failure, if any).
    /// </summary>
    /// <param name="start">Called with the call's index and its scheduled <see cref="Stopwatch"/> timestamp.</param>
    public static Task Run(double rate, int count, Func<int, long, Task> start)
    {
        var calls = new Outstanding(count);
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Pace(rate, count, start, calls);
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
        return calls.Completion;
    }

    private static void Pace(double rate, int count, Func<int, long, Task> start, Outstanding calls)
    {
        _ = prctl(PrSetTimerSlack, 1_000, 0, 0, 0);
        var interval = Stopwatch.Frequency / rate;
        var t0 = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 100);
        for (var i = 0; i < count; i++)
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
            calls.Track(start(i, due));
        }
    }

    /// <summary>Counts calls down as they finish, keeping the first failure and no task.</summary>
    private sealed class Outstanding
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left;
        private Exception? _failure;

        public Outstanding(int count)
        {
            _left = count;
            if (count == 0)
            {
                _all.SetResult();
            }
        }

        public Task Completion => _all.Task;

        public void Track(Task call)
        {
            if (call.IsCompleted)
            {
                Finished(call);
                return;
            }
            _ = call.ContinueWith(static (done, state) => ((Outstanding)state!).Finished(done), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void Finished(Task call)
        {
            if (call.Exception is { } exception)
            {
                Interlocked.CompareExchange(ref _failure, exception.InnerException ?? exception, null);
            }
            if (Interlocked.Decrement(ref _left) == 0)
            {
                if (_failure is null)
                {
                    _all.TrySetResult();
                }
                else
                {
                    _all.TrySetException(_failure);
                }
            }
        }
    }

    [LibraryImport("libc")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int usleep(uint microseconds);

    [LibraryImport("libc")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
