using System.Diagnostics;
using System.Globalization;

namespace Sluice.Benchmarks;

/// <summary>
/// <c>--memory-latency</c>: the machine's latency of one dependent random memory access (a pointer chase) over
/// working sets from 1 MB to 512 MB. A decision among millions of counters is bound by a handful of such
/// accesses (dictionary bucket, entry, key id, log, ring, for each of its two counters), so this says what
/// any design can reach on the machine at hand.
/// </summary>
public static class MemoryLatency
{
    public static int Run()
    {
        Console.WriteLine("Random dependent memory access (pointer chase), 5,000,000 hops per working set:");
        foreach (var megabytes in new[] { 1, 8, 64, 512 })
        {
            var count = megabytes * 1024 * 1024 / sizeof(long);
            var order = new int[count];
            for (var i = 0; i < count; i++)
            {
                order[i] = i;
            }
            new Random(1).Shuffle(order);
            var next = new long[count];
            for (var i = 0; i < count; i++)
            {
                next[order[i]] = order[(i + 1) % count];
            }
            long at = 0;
            for (var i = 0; i < count; i++)
            {
                at = next[at];
            }
            const int Hops = 5_000_000;
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < Hops; i++)
            {
                at = next[at];
            }
            var nanoseconds = Stopwatch.GetElapsedTime(started).TotalNanoseconds / Hops;
            GC.KeepAlive(at);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{megabytes,5} MB: {nanoseconds,6:F1} ns per access"));
        }
        return 0;
    }
}
