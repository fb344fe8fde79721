using Sluice.Core.Billing;
using Sluice.Core.Limits;

namespace Sluice.Core.Plans;

/// <summary>What a plan says about one model in one family: allowed or not, its cap, its price.</summary>
public sealed record ModelRules(bool Allowed, LimitPolicy? Cap, Price Price)
{
    public static ModelRules Unrestricted { get; } = new(true, null, Price.Free);
}
