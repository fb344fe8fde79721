using System.Globalization;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Core.Plans;

namespace Sluice.Benchmarks;

/// <summary>
/// <c>--memory [--counters N]</c>: fills a fresh embedded limiter with N counters per scenario and reports the
/// bytes it retains per counter: <c>GC.GetTotalMemory(true)</c> after a full, compacting collection, before
/// and after the fill, plus the native memory of its counter table (the entries live outside the managed heap).
/// The key ids and checks are made before the first reading (in the gateway the key id string belongs to the key
/// directory), so a row counts what the limiter itself adds: its table's entries, empty slots included, and the
/// rings of counters whose times outgrew their entry. Target: under 1.5 KB per fully used (150 requests) key or IP.
/// </summary>
public static class MemoryReport
{
    private const int Limit = 150;
    private const long TargetBytes = 1536;

    public static int Run(string[] args)
    {
        var counters = 100_000;
        var at = Array.IndexOf(args, "--counters");
        if (at >= 0 && (at + 1 >= args.Length || !int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out counters) || counters <= 0))
        {
            Console.Error.WriteLine("usage: Sluice.Benchmarks --memory [--counters N]");
            return 2;
        }
        var random = new Random(11);
        var keyIds = new string[counters];
        for (var i = 0; i < counters; i++)
        {
            keyIds[i] = Subjects.KeyId(random);
        }
        var keyPlan = Subjects.SingleScopePlan(LimitScope.Key);
        var ipPlan = Subjects.SingleScopePlan(LimitScope.Ip);
        var jointPlan = Subjects.DefaultPlan();
        var keyChecks = Checks(counters, i => keyPlan.ChecksFor(keyIds[i], 0));
        var ipChecks = Checks(counters, i => ipPlan.ChecksFor("-", Subjects.Ipv4Group(i)));
        var jointChecks = Checks(counters, i => jointPlan.ChecksFor(keyIds[i], Subjects.Ipv4Group(i)));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Embedded limiter memory: {counters:N0} subjects per scenario; retained bytes = GC.GetTotalMemory(true) after - before the fill, + the table's native bytes."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Runtime {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, {Environment.ProcessorCount} processors."));
        Console.WriteLine();
        Console.WriteLine($"{"scenario",-62} {"counters",10} {"retained",12} {"per counter",12}");

        var fullKey = Measure("key counters, 150 requests each (fully used)", counters, keyChecks, Limit);
        var fullIp = Measure("IP counters, 150 requests each (fully used)", counters, ipChecks, Limit);
        Measure("key + IP counters (default joint plan), 150 requests each", 2 * counters, jointChecks, Limit);
        Measure("key counters, 1 request each", counters, keyChecks, 1);
        Measure("IP counters, 1 request each", counters, ipChecks, 1);
        var reloaded = MeasureReloaded("key counters, 150 each, after a snapshot reload", counters, keyChecks);

        Console.WriteLine();
        var worst = Math.Max(fullKey, fullIp);
        var met = worst < TargetBytes;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Target: under {TargetBytes} B per fully used key or IP counter: {(met ? "MET" : "MISSED")} (key {fullKey:N0} B, IP {fullIp:N0} B; after a snapshot reload {reloaded:N0} B)."));
        GC.KeepAlive(keyIds);
        return met ? 0 : 1;
    }

    private static LimitCheck[][] Checks(int count, Func<int, LimitCheck[]> make)
    {
        var checks = new LimitCheck[count][];
        for (var i = 0; i < count; i++)
        {
            checks[i] = make(i);
        }
        return checks;
    }

    /// <summary>Admits <paramref name="requests"/> requests for each subject (round-robin, 1 ms apart) into a fresh limiter.</summary>
    private static long Measure(string scenario, int counters, LimitCheck[][] checks, int requests)
    {
        var before = Settle();
        var limiter = Fill(checks, requests);
        var after = Settle();
        Verify(limiter, checks, counters, requests);
        return Report(scenario, counters, after - before + limiter.NativeBytes);
    }

    /// <summary>
    /// Fills a limiter, writes its snapshot, and measures a second limiter loaded from it (as after a restart):
    /// loaded counters have rings exactly as long as their times.
    /// </summary>
    private static long MeasureReloaded(string scenario, int counters, LimitCheck[][] checks)
    {
        using var snapshot = new MemoryStream();
        Fill(checks, Limit).WriteSnapshot(snapshot);
        var before = Settle();
        snapshot.Position = 0;
        var limiter = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.FromMilliseconds(1)));
        limiter.ReadSnapshot(snapshot);
        var after = Settle();
        Verify(limiter, checks, counters, Limit);
        return Report(scenario, counters, after - before + limiter.NativeBytes);
    }

    private static InMemoryRequestLimiter Fill(LimitCheck[][] checks, int requests)
    {
        var limiter = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, TimeSpan.FromMilliseconds(1)));
        for (var round = 0; round < requests; round++)
        {
            foreach (var each in checks)
            {
                if (!limiter.TryAdmit(each).Admitted)
                {
                    throw new InvalidOperationException("A request was refused while filling the limiter.");
                }
            }
        }
        return limiter;
    }

    private static void Verify(InMemoryRequestLimiter limiter, LimitCheck[][] checks, int counters, int requests)
    {
        if (limiter.CounterCount != counters)
        {
            throw new InvalidOperationException($"Expected {counters} counters, found {limiter.CounterCount}.");
        }
        for (var i = 0; i < checks.Length; i += Math.Max(1, checks.Length / 100))
        {
            foreach (var counter in limiter.Peek(checks[i]).Counters)
            {
                if (counter.Used != requests)
                {
                    throw new InvalidOperationException($"A counter holds {counter.Used} requests, expected {requests}.");
                }
            }
        }
        GC.KeepAlive(limiter);
    }

    private static long Report(string scenario, int counters, long retained)
    {
        var perCounter = retained / counters;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scenario,-62} {counters,10:N0} {retained / (1024.0 * 1024.0),9:F1} MB {perCounter,10:N0} B"));
        return perCounter;
    }

    /// <summary>Live heap bytes after full blocking compacting collections.</summary>
    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
