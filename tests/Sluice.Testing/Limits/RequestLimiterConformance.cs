using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Sluice.Core.Limits;
using Sluice.Core.Plans;

namespace Sluice.Testing.Limits;

/// <summary>
/// What every limiter backend must do, proven the same way for each: exact boundaries with an injected clock,
/// the joint key+IP semantics, agreement with a brute-force oracle over long random traces, and exactness under
/// many concurrent callers. A backend's test class derives from this and says how to make its limiter.
/// </summary>
public abstract class RequestLimiterConformance
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    /// <summary>A limiter whose clock is <paramref name="time"/>; several calls make instances sharing one store.</summary>
    protected abstract IRequestLimiter CreateLimiter(TimeProvider time);

    private static async Task<AdmissionResult> Admit(IRequestLimiter limiter, Plan plan, string key, UInt128 ip) =>
        await limiter.TryAdmitAsync(plan.ChecksFor(key, ip), Guid.NewGuid().ToString("N"), CancellationToken.None);

    [Fact]
    public async Task Admit_FullWindow_RefusedOneMillisecondBeforeOldestExpires_AdmittedAtExpiry()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(150, Day);
        for (var i = 0; i < 150; i++)
        {
            Assert.True((await Admit(limiter, plan, "k1", TestPlans.Ip(1))).Admitted, $"request {i + 1} of 150 was refused");
        }
        var refused = await Admit(limiter, plan, "k1", TestPlans.Ip(1));
        Assert.False(refused.Admitted);
        Assert.Equal((long)Day.TotalMilliseconds, refused.RetryAfterMs);

        time.Advance(Day - TimeSpan.FromMilliseconds(1));
        var stillRefused = await Admit(limiter, plan, "k1", TestPlans.Ip(1));
        Assert.False(stillRefused.Admitted);
        Assert.Equal(1, stillRefused.RetryAfterMs);
        Assert.Equal(150, stillRefused.Key().Used);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var admitted = await Admit(limiter, plan, "k1", TestPlans.Ip(1));
        Assert.True(admitted.Admitted);
        Assert.Equal(1, admitted.Key().Used);
        Assert.Equal(149, admitted.Key().Remaining);
    }

    [Fact]
    public async Task Admit_SpreadOverTime_CapacityReturnsExactlyWhenEachRequestTurnsOneWindowOld()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(3, TimeSpan.FromMinutes(1));
        foreach (var gap in new[] { 0, 10_000, 20_000 })
        {
            time.Advance(TimeSpan.FromMilliseconds(gap));
            Assert.True((await Admit(limiter, plan, "k", TestPlans.Ip(1))).Admitted);
        }
        // Admitted at 0 s, 10 s and 30 s. At 59.999 s nothing has left the window.
        time.SetUtcNow(Start.AddMilliseconds(59_999));
        var refused = await Admit(limiter, plan, "k", TestPlans.Ip(1));
        Assert.False(refused.Admitted);
        Assert.Equal(1, refused.RetryAfterMs);
        time.SetUtcNow(Start.AddSeconds(60));
        Assert.True((await Admit(limiter, plan, "k", TestPlans.Ip(1))).Admitted);
        var next = await Admit(limiter, plan, "k", TestPlans.Ip(1));
        Assert.False(next.Admitted);
        Assert.Equal(10_000, next.RetryAfterMs);
    }

    [Fact]
    public async Task Admit_IpExhaustedByOtherKeys_RejectsAndKeepsKeyCount()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(5, Day);
        var shared = TestPlans.Ip(7);
        Assert.True((await Admit(limiter, plan, "victim", TestPlans.Ip(8))).Admitted);
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await Admit(limiter, plan, $"stranger{i}", shared)).Admitted);
        }

        var refused = await Admit(limiter, plan, "victim", shared);

        Assert.False(refused.Admitted);
        Assert.True(refused.IpCounter().Exhausted);
        Assert.False(refused.Key().Exhausted);
        Assert.Equal(1, refused.Key().Used);
        var peek = await limiter.PeekAsync(plan.ChecksFor("victim", TestPlans.Ip(9)), CancellationToken.None);
        Assert.Equal(1, peek.Key().Used);
        // The key still works from another address.
        Assert.True((await Admit(limiter, plan, "victim", TestPlans.Ip(9))).Admitted);
    }

    [Fact]
    public async Task Admit_KeyExhaustedFromOtherIps_RejectsAndKeepsIpCount()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(5, Day);
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await Admit(limiter, plan, "busy", TestPlans.Ip(100 + i))).Admitted);
        }
        var fresh = TestPlans.Ip(200);

        var refused = await Admit(limiter, plan, "busy", fresh);

        Assert.False(refused.Admitted);
        Assert.True(refused.Key().Exhausted);
        Assert.False(refused.IpCounter().Exhausted);
        Assert.Equal(0, refused.IpCounter().Used);
        // The address was not charged: another key uses its full allowance there.
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await Admit(limiter, plan, $"other{i}", fresh)).Admitted);
        }
        Assert.False((await Admit(limiter, plan, "other5", fresh)).Admitted);
    }

    [Fact]
    public async Task Peek_ReportsWithoutCounting()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(2, Day);
        Assert.True((await Admit(limiter, plan, "k", TestPlans.Ip(1))).Admitted);
        for (var i = 0; i < 5; i++)
        {
            var peek = await limiter.PeekAsync(plan.ChecksFor("k", TestPlans.Ip(1)), CancellationToken.None);
            Assert.Equal(1, peek.Key().Used);
            Assert.True(peek.Admitted);
        }
        Assert.True((await Admit(limiter, plan, "k", TestPlans.Ip(1))).Admitted);
        Assert.False((await Admit(limiter, plan, "k", TestPlans.Ip(1))).Admitted);
    }

    [Fact]
    public async Task CalendarDay_CountsFromTheZonesMidnight_AndResetsExactlyThere()
    {
        // 23:00 in Beijing (UTC+8) is 15:00 UTC; the day ends at 16:00 UTC.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 15, 0, 0, TimeSpan.Zero));
        var limiter = CreateLimiter(time);
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
        var cap = new LimitPolicy(TestPlans.Unique(), "gpt-4o", LimitSubject.Key, 2, TimeSpan.FromDays(1), zone, LimitKind.ModelCap);
        LimitCheck[] checks = [new(cap, cap.CounterFor("k"))];
        Assert.True((await limiter.TryAdmitAsync(checks, "c1", CancellationToken.None)).Admitted);
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.True((await limiter.TryAdmitAsync(checks, "c2", CancellationToken.None)).Admitted);

        var refused = await limiter.TryAdmitAsync(checks, "c3", CancellationToken.None);
        Assert.False(refused.Admitted);
        Assert.Equal((long)TimeSpan.FromMinutes(30).TotalMilliseconds, refused.RetryAfterMs);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 29, 15, 59, 59, 999, TimeSpan.Zero));
        var stillRefused = await limiter.TryAdmitAsync(checks, "c4", CancellationToken.None);
        Assert.False(stillRefused.Admitted);
        Assert.Equal(1, stillRefused.RetryAfterMs);

        time.Advance(TimeSpan.FromMilliseconds(1)); // 00:00:00.000 in Beijing
        var nextDay = await limiter.TryAdmitAsync(checks, "c5", CancellationToken.None);
        Assert.True(nextDay.Admitted);
        Assert.Equal(1, nextDay.Counters[0].Used);
        Assert.Equal(LimitPolicy.DayMs, nextDay.Counters[0].ResetAfterMs);
    }

    [Fact]
    public async Task CalendarDay_OnTheDayClocksGoForward_StartsAtLocalMidnight()
    {
        // New York, 2026-03-08: the day starts at 00:00 EST (05:00 UTC), not an hour earlier as the offset of
        // the afternoon (EDT) would say; a call at 23:30 EST the evening before belongs to the day before.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var cap = new LimitPolicy(TestPlans.Unique(), "gpt-4o", LimitSubject.Key, 1, TimeSpan.FromDays(1), zone, LimitKind.ModelCap);
        LimitCheck[] checks = [new(cap, cap.CounterFor("k"))];
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 8, 4, 30, 0, TimeSpan.Zero));
        var limiter = CreateLimiter(time);
        Assert.True((await limiter.TryAdmitAsync(checks, "d1", CancellationToken.None)).Admitted);

        time.SetUtcNow(new DateTimeOffset(2026, 3, 8, 15, 0, 0, TimeSpan.Zero)); // 11:00 EDT
        var nextDay = await limiter.TryAdmitAsync(checks, "d2", CancellationToken.None);
        Assert.True(nextDay.Admitted);
        Assert.Equal(1, nextDay.Counters[0].Used);

        var refused = await limiter.TryAdmitAsync(checks, "d3", CancellationToken.None);
        Assert.False(refused.Admitted);
        Assert.Equal((long)TimeSpan.FromHours(13).TotalMilliseconds, refused.RetryAfterMs); // until 00:00 EDT = 04:00 UTC
    }

    [Fact]
    public async Task CalendarDay_OnTheDayClocksGoBack_Lasts25Hours()
    {
        // New York, 2026-11-01 runs from 00:00 EDT (04:00 UTC) to 00:00 EST (05:00 UTC on the 2nd).
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var cap = new LimitPolicy(TestPlans.Unique(), "gpt-4o", LimitSubject.Key, 1, TimeSpan.FromDays(1), zone, LimitKind.ModelCap);
        LimitCheck[] checks = [new(cap, cap.CounterFor("k"))];
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 4, 30, 0, TimeSpan.Zero)); // 00:30 EDT
        var limiter = CreateLimiter(time);
        Assert.True((await limiter.TryAdmitAsync(checks, "b1", CancellationToken.None)).Admitted);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 2, 4, 30, 0, TimeSpan.Zero)); // 23:30 EST, still November 1st
        var refused = await limiter.TryAdmitAsync(checks, "b2", CancellationToken.None);
        Assert.False(refused.Admitted);
        Assert.Equal((long)TimeSpan.FromMinutes(30).TotalMilliseconds, refused.RetryAfterMs);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 2, 5, 0, 0, TimeSpan.Zero)); // 00:00 EST, November 2nd
        Assert.True((await limiter.TryAdmitAsync(checks, "b3", CancellationToken.None)).Admitted);
    }

    [Fact]
    public async Task Release_GivesTheRequestBackToEveryCounter()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var plan = TestPlans.Joint(1, Day);
        var checks = plan.ChecksFor("k", TestPlans.Ip(1));
        var admitted = await limiter.TryAdmitAsync(checks, "r1", CancellationToken.None);
        Assert.True(admitted.Admitted);
        Assert.False((await limiter.TryAdmitAsync(checks, "r2", CancellationToken.None)).Admitted);

        Assert.Equal(2, await limiter.ReleaseAsync(checks, admitted, CancellationToken.None));

        Assert.True((await limiter.TryAdmitAsync(checks, "r3", CancellationToken.None)).Admitted);
    }

    [Fact]
    public async Task Admit_ZeroLimit_RefusesEverything()
    {
        var limiter = CreateLimiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(0, Day);
        var refused = await Admit(limiter, plan, "k", TestPlans.Ip(1));
        Assert.False(refused.Admitted);
        Assert.True(refused.RetryAfterMs > 0);
    }

    /// <summary>Long random traces of keys, addresses and clock steps; every decision, count and wait must match the oracle.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Admit_RandomTraces_AgreeWithBruteForceOracle(int seed)
    {
        var random = new Random(seed);
        var time = new FakeTimeProvider(Start);
        var limiter = CreateLimiter(time);
        var limit = random.Next(1, 6);
        var window = TimeSpan.FromSeconds(random.Next(1, 10));
        var plan = TestPlans.Joint(limit, window);
        var oracle = new LimitOracle();
        var keys = random.Next(1, 6);
        var ips = random.Next(1, 6);
        var admitted = 0;
        for (var step = 0; step < 2_000; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 4) == 0 ? 0 : random.Next(0, (int)window.TotalMilliseconds / 3)));
            var key = "k" + random.Next(keys);
            var ip = random.Next(ips);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var counters = new List<(string, int, long)> { ("key:" + key, limit, (long)window.TotalMilliseconds), ("ip:" + ip, limit, (long)window.TotalMilliseconds) };

            var expected = oracle.TryAdmit(now, counters);
            var actual = await Admit(limiter, plan, key, TestPlans.Ip(ip));

            var context = $"seed {seed}, step {step}, key {key}, ip {ip}, t+{now - Start.ToUnixTimeMilliseconds()}ms, limit {limit}/{window.TotalMilliseconds}ms";
            Assert.True(expected == actual.Admitted, $"{context}: oracle says {(expected ? "admit" : "refuse")}, limiter says {(actual.Admitted ? "admit" : "refuse")}");
            Assert.Equal(oracle.Count("key:" + key, now, (long)window.TotalMilliseconds), actual.Key().Used);
            Assert.Equal(oracle.Count("ip:" + ip, now, (long)window.TotalMilliseconds), actual.IpCounter().Used);
            if (!expected)
            {
                var wait = Math.Max(
                    oracle.RetryAfter("key:" + key, limit, now, (long)window.TotalMilliseconds),
                    oracle.RetryAfter("ip:" + ip, limit, now, (long)window.TotalMilliseconds));
                Assert.True(wait == actual.RetryAfterMs, $"{context}: retry after {actual.RetryAfterMs}ms, oracle {wait}ms");
            }
            admitted += actual.Admitted ? 1 : 0;
        }
        Assert.InRange(admitted, 1, 1_999);
    }

    [Fact]
    public async Task Admit_1000ConcurrentForOneKey_Exactly150Admitted()
    {
        var time = new FakeTimeProvider(Start);
        var limiters = Enumerable.Range(0, 3).Select(_ => CreateLimiter(time)).ToArray();
        var plan = TestPlans.Joint(150, Day);
        var perIp = new ConcurrentDictionary<int, int>();
        var admitted = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1_000), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var ip = i % 7;
            var result = await Admit(limiters[i % limiters.Length], plan, "hot", TestPlans.Ip(ip));
            if (result.Admitted)
            {
                Interlocked.Increment(ref admitted);
                perIp.AddOrUpdate(ip, 1, (_, n) => n + 1);
            }
        });
        Assert.Equal(150, admitted);
        var peek = await limiters[0].PeekAsync(plan.ChecksFor("hot", TestPlans.Ip(0)), CancellationToken.None);
        Assert.Equal(150, peek.Key().Used);
    }

    [Fact]
    public async Task Admit_ConcurrentManyKeysOneIp_IpLimitHoldsExactly()
    {
        var time = new FakeTimeProvider(Start);
        var limiters = Enumerable.Range(0, 3).Select(_ => CreateLimiter(time)).ToArray();
        var plan = TestPlans.Joint(150, Day);
        var admitted = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1_000), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var result = await Admit(limiters[i % limiters.Length], plan, "key" + (i % 13), TestPlans.Ip(42));
            if (result.Admitted)
            {
                Interlocked.Increment(ref admitted);
            }
        });
        Assert.Equal(150, admitted);
    }
}
