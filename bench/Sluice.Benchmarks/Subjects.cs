using Sluice.Core.Plans;

namespace Sluice.Benchmarks;

/// <summary>Plans, key ids and client address groups as the gateway makes them.</summary>
public static class Subjects
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>The shipped default: plan <c>free</c>, 150 per rolling 24 h per key and per IP (KeyAndIp).</summary>
    public static Plan DefaultPlan() => Compile(PlanCatalog.Defaults()[PlanCatalog.DefaultPlan]);

    /// <summary>150 per 24 h with one scope only (Key or Ip), to measure one kind of counter alone.</summary>
    public static Plan SingleScopePlan(LimitScope scope) =>
        Compile(new PlanSettings { Limits = [new RequestLimitSettings { Scope = scope, Requests = 150, Window = TimeSpan.FromDays(1) }] });

    /// <summary>The default joint rule (per key and per IP, rolling 24 h) with another limit, e.g. one never reached.</summary>
    public static Plan JointPlan(int requests) =>
        Compile(new PlanSettings { Limits = [new RequestLimitSettings { Scope = LimitScope.KeyAndIp, Requests = requests, Window = TimeSpan.FromDays(1) }] });

    /// <summary>A key id as <c>ApiKeySecret.NewId("key_")</c> makes it (24 characters), deterministic per seed.</summary>
    public static string KeyId(Random random) => "key_" + random.GetString(Base62, 20);

    /// <summary>A key secret as <c>ApiKeySecret.Generate()</c> makes it: <c>sk-</c> and 48 base62 characters (51).</summary>
    public static string KeySecret(Random random) => "sk-" + random.GetString(Base62, 48);

    /// <summary>
    /// The group number of the <paramref name="index"/>-th distinct IPv4 client (<c>::ffff:a.b.c.d</c>, as
    /// <c>ClientAddress.From</c> makes it), scattered over the address space by an odd multiplier.
    /// </summary>
    public static UInt128 Ipv4Group(int index) => ((UInt128)0xFFFF << 32) | unchecked((uint)index * 2654435761u);

    private static Plan Compile(PlanSettings settings)
    {
        var errors = new List<string>();
        return Plan.Compile(PlanCatalog.DefaultPlan, settings, errors)
            ?? throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
    }
}
