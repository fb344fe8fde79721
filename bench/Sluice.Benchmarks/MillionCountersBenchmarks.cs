using BenchmarkDotNet.Attributes;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;

namespace Sluice.Benchmarks;

/// <summary>
/// One admission decision with <see cref="Active"/> active keys and as many active IPs in the limiter (default
/// joint plan), for a random key and a random IP among them. The target is a median under 1 µs with
/// 1,000,000 of each; 10,000 of each shows the same decision when the limiter fits in the CPU caches.
/// <para>
/// Steady state: the setup admits <see cref="PerCounter"/> rounds over every key and IP (each key meets a
/// different IP in each round) while the clock moves window / (<see cref="Active"/> × <see cref="PerCounter"/>)
/// per request (10.8 ms for a million), which is also the step during the benchmark. So the limiter holds
/// 2 × <see cref="Active"/> counters with <see cref="PerCounter"/> times each at the start, spread over the last
/// 24 h, and about as many later: every decision trims what has left the window and appends one time to each
/// of its two counters. Nothing is refused and nothing grows.
/// </para>
/// The checks of <see cref="Pairs"/> random (key, IP) pairs are made in the setup, so that the benchmark measures
/// the decision only. No forced full GC between iterations (<c>GcForce(false)</c>): with a heap of several
/// hundred MB each one takes seconds, and the gateway does not do them either.
/// </summary>
[MemoryDiagnoser]
[GcForce(false)]
public class MillionCountersBenchmarks
{
    public const int PerCounter = 8;
    public const int Pairs = 1 << 20;

    /// <summary>Odd multipliers coprime to 10: round r pairs key i with IP (i × m[r] + r) mod N, a bijection.</summary>
    private static readonly long[] RoundMultipliers = [1, 3, 7, 9, 11, 13, 17, 19];

    private InMemoryRequestLimiter _limiter = null!;
    private LimitCheck[][] _pairs = null!;
    private int _next;

    /// <summary>Active keys, and as many active IPs.</summary>
    [Params(10_000, 1_000_000)]
    public int Active { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var plan = Subjects.DefaultPlan();
        var random = new Random(7);
        var keyIds = new string[Active];
        for (var i = 0; i < Active; i++)
        {
            keyIds[i] = Subjects.KeyId(random);
        }
        var step = TimeSpan.FromDays(1) / ((long)Active * PerCounter);
        _limiter = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, step));

        for (var round = 0; round < PerCounter; round++)
        {
            // Every key and every IP gets exactly one request per round, each key with a different IP each round.
            var multiplier = RoundMultipliers[round];
            for (var i = 0; i < Active; i++)
            {
                var ip = (int)(((i * multiplier) + round) % Active);
                if (!_limiter.TryAdmit(plan.ChecksFor(keyIds[i], Subjects.Ipv4Group(ip))).Admitted)
                {
                    throw new InvalidOperationException("A decision was refused while filling the limiter.");
                }
            }
        }
        if (_limiter.CounterCount != 2 * Active)
        {
            throw new InvalidOperationException($"Expected {2 * Active} counters, found {_limiter.CounterCount}.");
        }

        _pairs = new LimitCheck[Pairs][];
        for (var i = 0; i < Pairs; i++)
        {
            _pairs[i] = plan.ChecksFor(keyIds[random.Next(Active)], Subjects.Ipv4Group(random.Next(Active)));
        }
        Console.WriteLine($"// limiter: {_limiter.CounterCount:N0} counters, {PerCounter} times each, clock step {step.TotalMilliseconds} ms");
    }

    [Benchmark]
    public AdmissionResult AdmitRandomKeyAndIp()
    {
        var checks = _pairs[_next];
        _next = (_next + 1) & (Pairs - 1);
        return _limiter.TryAdmit(checks);
    }
}
