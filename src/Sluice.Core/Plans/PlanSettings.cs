using Sluice.Core.Billing;

namespace Sluice.Core.Plans;

/// <summary>A plan as configured (<c>Sluice:Plans:&lt;name&gt;</c>); compiled into a <see cref="Plan"/> at start-up.</summary>
public sealed class PlanSettings
{
    /// <summary>The request limits; a request is admitted only when it fits into all of them.</summary>
    public List<RequestLimitSettings> Limits { get; set; } = [];

    /// <summary>What a "day" is for model caps (and for request limits marked <c>CalendarDay</c>).</summary>
    public DaySettings Day { get; set; } = new();

    /// <summary>Which models may be called, and per-model daily caps.</summary>
    public ModelSettings Models { get; set; } = new();

    /// <summary>The largest prompt, in tokens, a call may send (counted with the model's tokenizer). None: no cap.</summary>
    public int? MaxPromptTokens { get; set; }

    public BillingMode Billing { get; set; } = BillingMode.Free;

    /// <summary>A call the upstream fails (5xx, unreachable, timeout) is given back to every limit and cap, and costs nothing.</summary>
    public bool GiveBackFailedCalls { get; set; } = true;

    /// <summary>Prices for this plan, overriding <c>Sluice:Prices</c> model by model.</summary>
    public Dictionary<string, PriceSettings> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
