namespace Sluice.Core.Billing;

/// <summary>A model's price in USD per million tokens, and the completion length assumed when a call names none.</summary>
public sealed record Price(decimal Input, decimal CachedInput, decimal Output, int DefaultMaxTokens)
{
    public const int FallbackMaxTokens = 4_096;

    public static Price Free { get; } = new(0, 0, 0, FallbackMaxTokens);

    /// <summary>Nothing to pay for any token.</summary>
    public bool IsFree => Input == 0 && CachedInput == 0 && Output == 0;

    /// <summary>The cost of a call: uncached prompt tokens at the input price, cached ones at the cached price.</summary>
    public Money Cost(long promptTokens, long cachedTokens, long completionTokens)
    {
        // Counts are never negative (a negative one would pay the caller); cached tokens are part of the prompt.
        promptTokens = Math.Max(0, promptTokens);
        completionTokens = Math.Max(0, completionTokens);
        cachedTokens = Math.Clamp(cachedTokens, 0, promptTokens);
        // Per million tokens in USD = per token in micro-USD = 1000 nanodollars per token per dollar-per-million.
        var nanodollars = ((promptTokens - cachedTokens) * Input + (cachedTokens * CachedInput) + (completionTokens * Output)) * 1000m;
        return new Money((long)decimal.Round(nanodollars, MidpointRounding.AwayFromZero));
    }
}
