namespace Sluice.Core.Billing;

/// <summary>A configured price (<c>Sluice:Prices:&lt;model or glob&gt;</c>), USD per million tokens.</summary>
public sealed class PriceSettings
{
    public decimal Input { get; set; }

    /// <summary>Cached prompt tokens; the input price when not set.</summary>
    public decimal? CachedInput { get; set; }

    public decimal Output { get; set; }

    /// <summary>Completion tokens assumed for a prepaid hold when the call sets no <c>max_tokens</c>.</summary>
    public int DefaultMaxTokens { get; set; } = Price.FallbackMaxTokens;
}
