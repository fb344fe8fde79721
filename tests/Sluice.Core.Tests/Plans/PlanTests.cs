using Sluice.Core.Limits;
using Sluice.Core.Plans;

namespace Sluice.Core.Tests.Plans;

public sealed class PlanTests
{
    [Fact]
    public void Defaults_AreTheFreeServiceRule_150PerDayPerKeyAndPerIp()
    {
        var catalog = PlanCatalog.Compile(PlanCatalog.Defaults(), new List<string>())!;
        var free = catalog.Find("free")!;
        Assert.Collection(free.Policies,
            key => Assert.Equal(("key", LimitSubject.Key, 150, TimeSpan.FromDays(1)), (key.Name, key.Subject, key.Limit, key.Window)),
            ip => Assert.Equal(("ip", LimitSubject.Ip, 150, TimeSpan.FromDays(1)), (ip.Name, ip.Subject, ip.Limit, ip.Window)));
    }

    [Fact]
    public void Compile_InvalidPlans_ListsEveryProblem()
    {
        var errors = new List<string>();
        var settings = new Dictionary<string, PlanSettings>
        {
            ["bad"] = new()
            {
                Limits =
                [
                    new RequestLimitSettings { Scope = LimitScope.Key, Requests = -1, Window = TimeSpan.FromDays(1) },
                    new RequestLimitSettings { Scope = LimitScope.Key, Requests = 5, Window = TimeSpan.Zero },
                ],
            },
            ["a:b"] = new(),
        };

        Assert.Null(PlanCatalog.Compile(settings, errors));

        Assert.Contains(errors, e => e.Contains("Limits:0:Requests", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Limits:1:Window", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'key' is used twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Sluice:Plans:a:b", StringComparison.Ordinal));
    }

    [Fact]
    public void ChecksFor_JointRule_CountsTheKeyByIdAndTheIpByGroup()
    {
        var catalog = PlanCatalog.Compile(PlanCatalog.Defaults(), new List<string>())!;
        var checks = catalog.Find("free")!.ChecksFor("key_1", 42);
        Assert.Equal(new CounterKey("free:key", "key_1"), checks[0].Counter);
        Assert.Equal(new CounterKey("free:ip", (UInt128)42), checks[1].Counter);
    }
}
