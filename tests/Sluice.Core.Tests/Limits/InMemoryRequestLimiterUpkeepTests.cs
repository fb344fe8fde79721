using Microsoft.Extensions.Time.Testing;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Testing.Limits;

namespace Sluice.Core.Tests.Limits;

/// <summary>What only the embedded limiter does: snapshots, sweeping, long-running offsets, a clock that steps back.</summary>
public sealed class InMemoryRequestLimiterUpkeepTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Snapshot_WrittenAndRead_KeepsEveryCounterExactly()
    {
        var time = new FakeTimeProvider(Start);
        var before = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(3, TimeSpan.FromHours(1));
        before.TryAdmit(plan.ChecksFor("a", TestPlans.Ip(1)));
        time.Advance(TimeSpan.FromMinutes(10));
        before.TryAdmit(plan.ChecksFor("a", TestPlans.Ip(2)));
        before.TryAdmit(plan.ChecksFor("b", TestPlans.Ip(1)));
        var after = Reloaded(before, time, counters: 4);

        var a = after.Peek(plan.ChecksFor("a", TestPlans.Ip(1)));
        Assert.Equal(2, a.Key().Used);
        Assert.Equal(2, a.IpCounter().Used);
        Assert.Equal((long)TimeSpan.FromMinutes(50).TotalMilliseconds, a.Key().ResetAfterMs);
        after.TryAdmit(plan.ChecksFor("a", TestPlans.Ip(3)));
        Assert.False(after.TryAdmit(plan.ChecksFor("a", TestPlans.Ip(4))).Admitted);
    }

    [Fact]
    public void Snapshot_OfCountersWithManyTimes_KeepsEveryOne()
    {
        // A plan with a large limit: each counter holds one time per admitted request, far beyond the entry's own slots.
        var time = new FakeTimeProvider(Start);
        var before = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(100_000, TimeSpan.FromHours(1));
        for (var i = 0; i < 30_000; i++)
        {
            Assert.True(before.TryAdmit(plan.ChecksFor(i % 3 == 0 ? "a" : "b", TestPlans.Ip(1 + (i % 2)))).Admitted);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }
        var after = Reloaded(before, time, counters: 4);

        var a = after.Peek(plan.ChecksFor("a", TestPlans.Ip(1)));
        Assert.Equal((10_000, 15_000), (a.Key().Used, a.IpCounter().Used));
        // The oldest time of each (the very first call, for "a" and 127.0.0.1) came through: its window ends an hour after it.
        Assert.Equal((long)TimeSpan.FromHours(1).TotalMilliseconds - 30_000, a.Key().ResetAfterMs);
        var b = after.Peek(plan.ChecksFor("b", TestPlans.Ip(2)));
        Assert.Equal((20_000, 15_000), (b.Key().Used, b.IpCounter().Used));
        Assert.Equal((long)TimeSpan.FromHours(1).TotalMilliseconds - 30_000 + 1, b.Key().ResetAfterMs);
        // And so did the newest (29,999 ms after the first, now 30,000 ms): when all but it have left the window, one is left.
        time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(2));
        Assert.Equal(1, after.Peek(plan.ChecksFor("b", TestPlans.Ip(2))).Key().Used);
    }

    /// <summary>The limiter as a restart finds it: <paramref name="before"/>'s snapshot read into a fresh one.</summary>
    private static InMemoryRequestLimiter Reloaded(InMemoryRequestLimiter before, TimeProvider time, int counters)
    {
        using var file = new MemoryStream();
        Assert.Equal(counters, before.WriteSnapshot(file));
        file.Position = 0;
        var after = new InMemoryRequestLimiter(time);
        Assert.Equal(counters, after.ReadSnapshot(file));
        return after;
    }

    [Fact]
    public void Snapshot_NotASnapshot_IsRefusedWithAClearError()
    {
        var limiter = new InMemoryRequestLimiter(new FakeTimeProvider(Start));
        using var file = new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8]);
        var error = Assert.Throws<InvalidDataException>(() => limiter.ReadSnapshot(file));
        Assert.Contains("snapshot", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Sweep_DropsOnlyCountersWhoseWindowHasEmptied()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new InMemoryRequestLimiter(time);
        var shortPlan = TestPlans.Joint(5, TimeSpan.FromMinutes(1));
        var longPlan = TestPlans.Joint(5, TimeSpan.FromHours(1));
        limiter.TryAdmit(shortPlan.ChecksFor("a", TestPlans.Ip(1)));
        limiter.TryAdmit(longPlan.ChecksFor("a", TestPlans.Ip(1)));
        Assert.Equal(4, limiter.CounterCount);

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, limiter.Sweep());

        Assert.Equal(2, limiter.CounterCount);
        Assert.Equal(1, limiter.Peek(longPlan.ChecksFor("a", TestPlans.Ip(1))).Key().Used);
        // A swept counter starts again from nothing and still counts exactly.
        Assert.True(limiter.TryAdmit(shortPlan.ChecksFor("a", TestPlans.Ip(1))).Admitted);
        Assert.Equal(1, limiter.Peek(shortPlan.ChecksFor("a", TestPlans.Ip(1))).Key().Used);
    }

    [Fact]
    public void Sweep_OnA25HourDay_KeepsTimesOfTheDayFor25Hours()
    {
        // New York, 2026-11-01 lasts 25 hours: a call at 00:30 EDT still counts at 23:30 EST, 24 hours later.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var cap = new LimitPolicy(TestPlans.Unique(), "gpt-4o", LimitSubject.Key, 1, TimeSpan.FromDays(1), zone, LimitKind.ModelCap);
        LimitCheck[] checks = [new(cap, cap.CounterFor("k"))];
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 4, 30, 0, TimeSpan.Zero));
        var limiter = new InMemoryRequestLimiter(time);
        Assert.True(limiter.TryAdmit(checks).Admitted);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 2, 4, 30, 0, TimeSpan.Zero));
        Assert.Equal(0, limiter.Sweep());
        Assert.False(limiter.TryAdmit(checks).Admitted);
    }

    [Fact]
    public async Task Sweep_RacingWithDecisions_LosesNoCount()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(1_000_000, TimeSpan.FromMinutes(1));
        using var stop = new CancellationTokenSource();
        var sweeper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                limiter.Sweep();
            }
        });
        for (var i = 0; i < 20_000; i++)
        {
            Assert.True(limiter.TryAdmit(plan.ChecksFor("k" + (i % 50), TestPlans.Ip(i % 50))).Admitted);
        }
        await stop.CancelAsync();
        await sweeper;
        var total = 0;
        for (var k = 0; k < 50; k++)
        {
            total += limiter.Peek(plan.ChecksFor("k" + k, TestPlans.Ip(k))).Key().Used;
        }
        Assert.Equal(20_000, total);
    }

    [Fact]
    public void ManyCounters_GrownAndHalfSwept_EveryCounterLeftKeepsItsCount()
    {
        // 20,000 keys and IPs make every stripe of the table grow many times; the sweep then removes every other
        // key and IP from the middle of probe runs. Whatever remains must be found with its exact count.
        var time = new FakeTimeProvider(Start);
        var limiter = new InMemoryRequestLimiter(time);
        var shortPlan = TestPlans.Joint(100, TimeSpan.FromMinutes(1));
        var longPlan = TestPlans.Joint(100, TimeSpan.FromHours(1));
        const int Subjects = 10_000;
        for (var i = 0; i < Subjects; i++)
        {
            var plan = i % 2 == 0 ? longPlan : shortPlan;
            for (var n = 0; n <= i % 3; n++)
            {
                Assert.True(limiter.TryAdmit(plan.ChecksFor("k" + i, TestPlans.Ip(i))).Admitted);
            }
        }
        Assert.Equal(2 * Subjects, limiter.CounterCount);

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(Subjects, limiter.Sweep());

        Assert.Equal(Subjects, limiter.CounterCount);
        for (var i = 0; i < Subjects; i++)
        {
            var plan = i % 2 == 0 ? longPlan : shortPlan;
            var state = limiter.Peek(plan.ChecksFor("k" + i, TestPlans.Ip(i)));
            var expected = i % 2 == 0 ? (i % 3) + 1 : 0;
            Assert.Equal(expected, state.Key().Used);
            Assert.Equal(expected, state.IpCounter().Used);
        }
    }

    [Fact]
    public void FullCounters_SweptAndRefilled_KeepTheirOwnTimes()
    {
        // 150 times do not fit in an entry: they move to a ring of their own, which the sweep gives back and a
        // new counter reuses. Each counter must still hold exactly its own times.
        var time = new FakeTimeProvider(Start);
        var limiter = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(150, TimeSpan.FromMinutes(10));
        for (var round = 0; round < 3; round++)
        {
            for (var k = 0; k < 40; k++)
            {
                var used = 30 + (k * 3);
                for (var n = 0; n < used; n++)
                {
                    Assert.True(limiter.TryAdmit(plan.ChecksFor($"r{round}k{k}", TestPlans.Ip((round * 100) + k))).Admitted);
                }
            }
            for (var k = 0; k < 40; k++)
            {
                var state = limiter.Peek(plan.ChecksFor($"r{round}k{k}", TestPlans.Ip((round * 100) + k)));
                Assert.Equal(30 + (k * 3), state.Key().Used);
                Assert.Equal(30 + (k * 3), state.IpCounter().Used);
            }
            time.Advance(TimeSpan.FromMinutes(11));
            Assert.Equal(80, limiter.Sweep());
        }
        Assert.Equal(0, limiter.CounterCount);
    }

    [Fact]
    public void Snapshot_Version1_FromBeforeTheCounterTable_IsStillRead()
    {
        // Version 1 stored a key counter by its key id; such a file, left by an older Sluice, must still load.
        var plan = TestPlans.Joint(3, TimeSpan.FromHours(1));
        var checks = plan.ChecksFor("key_old", TestPlans.Ip(7));
        var admitted = Start.AddMinutes(-10).ToUnixTimeMilliseconds();
        using var file = new MemoryStream();
        using (var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0x4C43_4C53);
            writer.Write(1);
            writer.Write((byte)1);
            writer.Write(checks[0].Counter.Scope);
            writer.Write(true);
            writer.Write("key_old");
            writer.Write(checks[0].WindowMs);
            writer.Write(1);
            writer.Write(admitted);
            writer.Write((byte)1);
            writer.Write(checks[1].Counter.Scope);
            writer.Write(false);
            writer.Write((ulong)(TestPlans.Ip(7) >> 64));
            writer.Write((ulong)TestPlans.Ip(7));
            writer.Write(checks[1].WindowMs);
            writer.Write(1);
            writer.Write(admitted);
            writer.Write((byte)0);
        }
        file.Position = 0;
        var limiter = new InMemoryRequestLimiter(new FakeTimeProvider(Start));
        Assert.Equal(2, limiter.ReadSnapshot(file));

        var state = limiter.Peek(checks);
        Assert.Equal(1, state.Key().Used);
        Assert.Equal(1, state.IpCounter().Used);
        Assert.Equal((long)TimeSpan.FromMinutes(50).TotalMilliseconds, state.Key().ResetAfterMs);
    }

    [Fact]
    public void Admit_RunningForMonths_OffsetsRebaseAndStayExact()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(3, TimeSpan.FromDays(20));
        // One request every 7 days for ~100 days: always 3 in any 20-day window, the 4th refused.
        for (var week = 0; week < 15; week++)
        {
            var result = limiter.TryAdmit(plan.ChecksFor("k", TestPlans.Ip(1)));
            Assert.True(result.Admitted, $"week {week}");
            Assert.Equal(Math.Min(week + 1, 3), result.Key().Used);
            time.Advance(TimeSpan.FromDays(7));
        }
    }

    [Fact]
    public void Admit_ClockStepsBack_TimesNeverRunBackwards()
    {
        var time = new SteppingClock { Now = Start.AddSeconds(30) };
        var limiter = new InMemoryRequestLimiter(time);
        var plan = TestPlans.Joint(2, TimeSpan.FromMinutes(1));
        Assert.True(limiter.TryAdmit(plan.ChecksFor("k", TestPlans.Ip(1))).Admitted);
        time.Now = Start; // the wall clock jumps back 30 s
        Assert.True(limiter.TryAdmit(plan.ChecksFor("k", TestPlans.Ip(1))).Admitted);
        var refused = limiter.TryAdmit(plan.ChecksFor("k", TestPlans.Ip(1)));
        Assert.False(refused.Admitted);
        // Both were recorded at the clamped time (t+30 s), so room returns 60 s after that.
        Assert.Equal(60_000, refused.RetryAfterMs);
    }

    /// <summary>A wall clock that can be set anywhere, backwards included (FakeTimeProvider refuses that).</summary>
    private sealed class SteppingClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
