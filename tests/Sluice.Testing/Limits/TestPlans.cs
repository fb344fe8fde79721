using Sluice.Core.Limits;
using Sluice.Core.Plans;

namespace Sluice.Testing.Limits;

/// <summary>Plans for limiter tests, each under a fresh name so that tests sharing a store never see each other's counters.</summary>
public static class TestPlans
{
    public static Plan Joint(int limit, TimeSpan window, string? name = null)
    {
        var settings = new PlanSettings { Limits = [new RequestLimitSettings { Scope = LimitScope.KeyAndIp, Requests = limit, Window = window }] };
        var errors = new List<string>();
        return Plan.Compile(name ?? Unique(), settings, errors) ?? throw new InvalidOperationException(string.Join("; ", errors));
    }

    public static Plan Compile(PlanSettings settings, string? name = null)
    {
        var errors = new List<string>();
        return Plan.Compile(name ?? Unique(), settings, errors) ?? throw new InvalidOperationException(string.Join("; ", errors));
    }

    public static string Unique() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>An IPv4 address group number for 10.0.x.y.</summary>
    public static UInt128 Ip(int n) => ((UInt128)0xFFFF << 32) | (uint)(0x0A000000 + n);

    public static CounterState Key(this AdmissionResult result) => result.Counters.Single(c => c.Policy.Subject == LimitSubject.Key);

    public static CounterState IpCounter(this AdmissionResult result) => result.Counters.Single(c => c.Policy.Subject == LimitSubject.Ip);
}
