using System.Diagnostics;
using System.Globalization;
using Sluice.Core.Limits;

namespace Sluice.Benchmarks;

/// <summary>The measured runs of <see cref="RedisReport"/>: closed-loop callers and a fixed open-loop rate.</summary>
public sealed class RedisDecisionRuns
{
    private readonly RedisStats _redis;
    private readonly LimitCheck[] _one;
    private int _run;
    private long _onOneKey;

    public RedisDecisionRuns(RedisStats redis, LimitCheck[] one)
    {
        _redis = redis;
        _one = one;
    }

    /// <summary>Decisions taken on the one key and IP (warm-ups included), to compare with what Redis counted.</summary>
    public long OnOneKey => Interlocked.Read(ref _onOneKey);

    /// <summary>N callers, each awaiting one decision after another; prints one row.</summary>
    public async Task ClosedAsync(IRequestLimiter limiter, int callers, string subjects, Func<int, LimitCheck[]> checksOf, double seconds)
    {
        await CallersAsync(limiter, callers, checksOf, 1);
        await _redis.ResetAsync();
        var before = Cpu.Now(_redis);
        var (latencies, elapsed) = await CallersAsync(limiter, callers, checksOf, seconds);
        var cpu = Cpu.Now(_redis) - before;
        var (script, slow) = await _redis.ScriptAsync();
        var summary = new LatencySummary(latencies);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{callers,7} {subjects,-22} {summary.Count / elapsed,11:N0} {summary.Row()} {cpu.ClientMicros(summary.Count),8:F1} µs {cpu.RedisMicros(summary.Count),7:F1} µs {script,7:F1} µs {slow,8} {cpu.Other,7:F1}"));
    }

    /// <summary>Decisions started at a fixed rate (open loop); prints two rows (from the call, from the schedule) and returns the first.</summary>
    public async Task<LatencySummary> FixedRateAsync(IRequestLimiter limiter, string name, string subjects, Func<int, LimitCheck[]> checksOf, double rate, double seconds)
    {
        await OpenLoopAsync(limiter, checksOf, rate, 2);
        await _redis.ResetAsync();
        var before = Cpu.Now(_redis);
        var gc = GcPauses.Now();
        var run = await OpenLoopAsync(limiter, checksOf, rate, seconds);
        gc = GcPauses.Now() - gc;
        var cpu = Cpu.Now(_redis) - before;
        var (script, slow) = await _redis.ScriptAsync();
        var decision = new LatencySummary(run.FromSend);
        var fromSchedule = new LatencySummary(run.FromSchedule);
        var late = new LatencySummary(run.Late);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-24} {subjects,-15} {run.Achieved,10:N0} {"decision",-14} {decision.Row()} {run.MaxInFlight,9} {cpu.ClientMicros(decision.Count),8:F1} µs {cpu.RedisMicros(decision.Count),7:F1} µs {script,7:F1} µs {slow,8} {cpu.Other,7:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"",-24} {"",-15} {"",10} {"from schedule",-14} {fromSchedule.Row()}   (pacer late p50 {late.Micros(50):F0} µs, p99 {late.Micros(99):F0} µs, max {late.MaxMicros:F0} µs; this process: {gc.Collections} GCs, {gc.Allocated / decision.Count:N0} B allocated per decision, paused {gc.Paused.TotalMilliseconds:F1} ms in all)"));
        return decision;
    }

    /// <summary>The pacer alone, starting calls that do nothing: the share of this process's CPU that is not the decisions'.</summary>
    public static void PacerAlone(double rate, double seconds)
    {
        var before = Environment.CpuUsage.TotalTime.TotalSeconds;
        var machine = ProcessCpu.MachineBusySeconds();
        var late = new long[(int)(rate * seconds)];
        OpenLoop.Run(rate, late.Length, (i, due) =>
        {
            late[i] = Stopwatch.GetTimestamp() - due;
            return Task.CompletedTask;
        });
        var client = Environment.CpuUsage.TotalTime.TotalSeconds - before;
        var other = ProcessCpu.MachineBusySeconds() - machine - client;
        var summary = new LatencySummary(late);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"(the pacer alone)",-24} {"-",-15} {rate,10:N0} {"pacer late",-14} {summary.Row()} {"-",9} {client * 1e6 / late.Length,8:F1} µs {"-",10} {"-",10} {"-",8} {other,7:F1}"));
    }

    private async Task<(long[] Latencies, double Seconds)> CallersAsync(IRequestLimiter limiter, int callers, Func<int, LimitCheck[]> checksOf, double seconds)
    {
        var id = NextRunId();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var started = Stopwatch.GetTimestamp();
        var tasks = new Task<List<long>>[callers];
        for (var c = 0; c < callers; c++)
        {
            var checks = checksOf(c);
            var prefix = string.Create(CultureInfo.InvariantCulture, $"{id}-{c}-");
            tasks[c] = Task.Run(() => CallerAsync(limiter, checks, prefix, stop.Token));
        }
        var lists = await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = new List<long>(lists.Sum(list => list.Count));
        foreach (var list in lists)
        {
            all.AddRange(list);
        }
        return ([.. all], elapsed);
    }

    private async Task<List<long>> CallerAsync(IRequestLimiter limiter, LimitCheck[] checks, string prefix, CancellationToken stop)
    {
        var latencies = new List<long>(1 << 14);
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            var result = await limiter.TryAdmitAsync(checks, prefix + n.ToString(CultureInfo.InvariantCulture), CancellationToken.None);
            latencies.Add(Stopwatch.GetTimestamp() - started);
            n++;
            Check(result, checks);
        }
        return latencies;
    }

    private Task<OpenLoopRun> OpenLoopAsync(IRequestLimiter limiter, Func<int, LimitCheck[]> checksOf, double rate, double seconds)
    {
        var id = NextRunId();
        return OpenLoopRun.RunAsync(rate, seconds, async (i, _) =>
        {
            var checks = checksOf(i);
            var result = await limiter.TryAdmitAsync(checks, string.Create(CultureInfo.InvariantCulture, $"{id}-{i}"), CancellationToken.None);
            Check(result, checks);
            return 0;
        });
    }

    private void Check(AdmissionResult result, LimitCheck[] checks)
    {
        if (ReferenceEquals(checks, _one))
        {
            Interlocked.Increment(ref _onOneKey);
        }
        if (!result.Admitted)
        {
            throw new InvalidOperationException("A decision was refused; the plan's limit should never be reached.");
        }
    }

    private string NextRunId() => string.Create(CultureInfo.InvariantCulture, $"r{Interlocked.Increment(ref _run)}");

    /// <summary>This process's garbage collections, pause time and allocated bytes up to one moment.</summary>
    private readonly record struct GcPauses(int Collections, TimeSpan Paused, long Allocated)
    {
        public static GcPauses Now() => new(GC.CollectionCount(0), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());

        public static GcPauses operator -(GcPauses after, GcPauses before) =>
            new(after.Collections - before.Collections, after.Paused - before.Paused, after.Allocated - before.Allocated);
    }

    /// <summary>CPU seconds of this process, of redis-server and of the whole machine at one moment.</summary>
    private readonly record struct Cpu(double Client, double Redis, double Machine)
    {
        public static Cpu Now(RedisStats redis) => new(Environment.CpuUsage.TotalTime.TotalSeconds, redis.CpuSeconds(), ProcessCpu.MachineBusySeconds());

        public static Cpu operator -(Cpu after, Cpu before) => new(after.Client - before.Client, after.Redis - before.Redis, after.Machine - before.Machine);

        /// <summary>CPU seconds used by anything else on the machine.</summary>
        public double Other => Machine - Client - (double.IsNaN(Redis) ? 0 : Redis);

        public double ClientMicros(int decisions) => Client * 1e6 / decisions;

        public double RedisMicros(int decisions) => Redis * 1e6 / decisions;
    }
}
