using BenchmarkDotNet.Attributes;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;

namespace Sluice.Benchmarks;

/// <summary>
/// One admission decision with 1,000,000 active keys and 1,000,000 active IPs in the limiter (default joint
/// plan), for a random key and a random IP among them. The target is a median under 1 µs.
/// <para>
/// Steady state: the setup admits <see cref="PerCounter"/> rounds over every key and IP (each round pairs the
/// keys with the IPs differently) while the clock moves window / (subjects × <see cref="PerCounter"/>) = 10.8 ms
/// per request, which is also the step during the benchmark. So the limiter holds 2 million counters with
/// about <see cref="PerCounter"/> times each (spread over the last 24 h); every decision trims what has left
/// the window and appends one time to each of its two counters. Nothing is refused, nothing grows.
/// </para>
/// The (key, IP) checks of <see cref="Pairs"/> random pairs are made in the setup, so the benchmark measures
/// the decision only.
/// </summary>
[MemoryDiagnoser]
public class MillionCountersBenchmarks
{
    public const int SubjectCount = 1_000_000;
    public const int PerCounter = 8;
    public const int Pairs = 1 << 20;

    /// <summary>Odd multipliers coprime to 1,000,000: round r pairs key i with IP (i × m[r] + r) mod N, a bijection.</summary>
    private static readonly long[] RoundMultipliers = [1, 3, 7, 9, 11, 13, 17, 19];

    private InMemoryRequestLimiter _limiter = null!;
    private LimitCheck[][] _pairs = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var plan = Subjects.DefaultPlan();
        var random = new Random(7);
        var keyIds = new string[SubjectCount];
        for (var i = 0; i < SubjectCount; i++)
        {
            keyIds[i] = Subjects.KeyId(random);
        }
        var step = TimeSpan.FromDays(1) / ((long)SubjectCount * PerCounter);
        _limiter = new InMemoryRequestLimiter(new SteppingClock(SteppingClock.Start, step));

        for (var round = 0; round < PerCounter; round++)
        {
            // Every key and every IP gets exactly one request per round, each key with a different IP each round.
            var multiplier = RoundMultipliers[round];
            for (var i = 0; i < SubjectCount; i++)
            {
                var ip = (int)(((i * multiplier) + round) % SubjectCount);
                if (!_limiter.TryAdmit(plan.ChecksFor(keyIds[i], Subjects.Ipv4Group(ip))).Admitted)
                {
                    throw new InvalidOperationException("A decision was refused while filling the limiter.");
                }
            }
        }
        if (_limiter.CounterCount != 2 * SubjectCount)
        {
            throw new InvalidOperationException($"Expected {2 * SubjectCount} counters, found {_limiter.CounterCount}.");
        }

        _pairs = new LimitCheck[Pairs][];
        for (var i = 0; i < Pairs; i++)
        {
            _pairs[i] = plan.ChecksFor(keyIds[random.Next(SubjectCount)], Subjects.Ipv4Group(random.Next(SubjectCount)));
        }
        Console.WriteLine($"// limiter: {_limiter.CounterCount:N0} counters, {PerCounter} times each on average, clock step {step.TotalMilliseconds} ms");
    }

    [Benchmark]
    public AdmissionResult AdmitRandomKeyAndIp()
    {
        var checks = _pairs[_next];
        _next = (_next + 1) & (Pairs - 1);
        return _limiter.TryAdmit(checks);
    }
}
