using Sluice.Core.Billing;
using Sluice.Core.Limits;

namespace Sluice.Core.Plans;

/// <summary>
/// What a plan says about one model in one family: allowed or not, its cap, its price, and whether the price table
/// names the model at all (<see cref="Priced"/>; an unnamed model is free, which a prepaid plan does not accept).
/// </summary>
public sealed record ModelRules(bool Allowed, LimitPolicy? Cap, Price Price, bool Priced)
{
    public static ModelRules Unrestricted { get; } = new(true, null, Price.Free, Priced: false);
}
