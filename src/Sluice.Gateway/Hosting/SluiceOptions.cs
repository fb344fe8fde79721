using Sluice.Core.Billing;
using Sluice.Core.Plans;

namespace Sluice.Gateway.Hosting;

/// <summary>The <c>Sluice</c> section's own settings: where data lives and which plans exist.</summary>
public sealed class SluiceOptions
{
    public const string Section = "Sluice";

    /// <summary>Holds the SQLite file, the limiter snapshot and the generated admin token. Relative to the
    /// working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Plans by name; when none is configured, the <c>free</c> plan of the public service.</summary>
    public Dictionary<string, PlanSettings> Plans { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Prices by model name or glob, USD per million tokens; when none is configured, current list prices
    /// of common models. A plan's own <c>Prices</c> override these.</summary>
    public Dictionary<string, PriceSettings> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
