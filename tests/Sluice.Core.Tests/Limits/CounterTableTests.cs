using Microsoft.Extensions.Time.Testing;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Testing.Limits;

namespace Sluice.Core.Tests.Limits;

/// <summary>The embedded limiter's counter table on its own: probing, deletion, rings, and what it refuses.</summary>
public sealed class CounterTableTests
{
    private const long Window = 20L * 86_400_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Stripe_RandomOperations_KeepEveryCounterExactlyAsAModel(int seed)
    {
        // Hashes crowd the end of the array, so probe runs wrap around; counters outgrow their entry (rings) and
        // give them back; the sweep removes counters from the middle of runs. After each step that can move
        // entries, every counter must still be found with exactly its times.
        var random = new Random(seed);
        var stripe = new CounterTable.Stripe();
        var model = new Dictionary<UInt128, List<long>>();
        var hashes = new Dictionary<UInt128, int>();
        var now = 1_700_000_000_000L;
        for (var step = 0; step < 30_000; step++)
        {
            var subject = (UInt128)random.Next(400);
            if (!hashes.TryGetValue(subject, out var hash))
            {
                hash = random.Next(4) == 0 ? random.Next() : (int)(0x7FFFFFF0u | (uint)random.Next(16)) ^ (random.Next(8) << 5);
                hashes[subject] = hash;
            }
            var id = new CounterId(subject, 2, hash);
            now += random.Next(30) == 0 ? random.Next(1, 3) * 86_400_000L : random.Next(0, 50_000);
            var what = random.Next(100);
            if (what < 70)
            {
                var limit = random.Next(1, 70);
                var slot = stripe.FindOrAdd(id, Window, out _);
                ref var entry = ref stripe[slot];
                entry.TrimThrough(stripe.Rings, now - Window);
                if (!model.TryGetValue(subject, out var times))
                {
                    model[subject] = times = [];
                }
                times.RemoveAll(t => t <= now - Window);
                Assert.Equal(times.Count, entry.Count);
                if (entry.Count < limit)
                {
                    entry.Append(stripe.Rings, now, limit);
                    times.Add(now);
                }
            }
            else if (what < 85)
            {
                if (model.TryGetValue(subject, out var times) && times.Count > 0)
                {
                    var slot = stripe.Find(id);
                    Assert.True(slot >= 0);
                    var time = times[random.Next(times.Count)];
                    Assert.True(stripe[slot].Remove(stripe.Rings, time));
                    times.Remove(time);
                }
            }
            else
            {
                stripe.Sweep(now);
                foreach (var key in model.Keys.ToList())
                {
                    model[key].RemoveAll(t => t <= now - Window);
                    if (model[key].Count == 0)
                    {
                        model.Remove(key);
                    }
                }
                foreach (var (key, times) in model)
                {
                    var slot = stripe.Find(new CounterId(key, 2, hashes[key]));
                    Assert.True(slot >= 0, $"step {step}: counter {key} lost");
                    var held = new long[stripe[slot].Count];
                    stripe[slot].CopyTo(stripe.Rings, held);
                    Assert.Equal(times, held);
                }
                Assert.Equal(model.Count, stripe.Count);
            }
        }
    }

    [Fact]
    public void DefaultCounterKey_IsRefusedWhenTheCheckIsMade()
    {
        // A default CounterKey names no counter; the table would take it for an empty slot and never limit it.
        var policy = TestPlans.Joint(1, TimeSpan.FromHours(1)).ChecksFor("k", TestPlans.Ip(1))[0].Policy;
        Assert.Throws<ArgumentNullException>(() => new LimitCheck(policy, default));
    }

    [Fact]
    public void Snapshot_WithAnImpossibleRetention_IsRefusedAndLeavesNothingBehind()
    {
        var limiter = new InMemoryRequestLimiter(new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56)));
        using var file = new MemoryStream();
        using (var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0x4C43_4C53);
            writer.Write(2);
            writer.Write((byte)1);
            writer.Write("x:key");
            writer.Write(false);
            writer.Write(0UL);
            writer.Write(7UL);
            writer.Write((long)int.MaxValue + 1);
            writer.Write(0);
            writer.Write((byte)0);
        }
        file.Position = 0;

        Assert.Throws<InvalidDataException>(() => limiter.ReadSnapshot(file));
        Assert.Equal(0, limiter.CounterCount);
    }
}
