using Sluice.Core.Models;

namespace Sluice.Core.Billing;

/// <summary>
/// Prices by model: an exact name wins, then the glob with the most literal characters (so <c>gpt-4o-mini*</c>
/// beats <c>gpt-4o*</c>). A model no entry matches is free on a plan billed afterwards, and refused on a prepaid plan.
/// </summary>
public sealed class PriceTable
{
    private readonly Dictionary<string, Price> _exact;
    private readonly (ModelPattern Pattern, Price Price)[] _globs;

    private PriceTable(Dictionary<string, Price> exact, (ModelPattern, Price)[] globs)
    {
        _exact = exact;
        _globs = globs;
    }

    public static PriceTable Empty { get; } = new(new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase), []);

    /// <summary>The price of <paramref name="model"/>, free when no entry names it.</summary>
    public Price For(string? model) => Find(model) ?? Price.Free;

    /// <summary>The price of <paramref name="model"/>, or null when no entry names it.</summary>
    public Price? Find(string? model)
    {
        if (model is null)
        {
            return null;
        }
        if (_exact.TryGetValue(model, out var price))
        {
            return price;
        }
        foreach (var (pattern, globPrice) in _globs)
        {
            if (pattern.Matches(model))
            {
                return globPrice;
            }
        }
        return null;
    }

    /// <summary>Compiles configured prices; problems go to <paramref name="errors"/> under <paramref name="path"/>.</summary>
    public static PriceTable Compile(IReadOnlyDictionary<string, PriceSettings> settings, string path, ICollection<string> errors)
    {
        var exact = new Dictionary<string, Price>(StringComparer.OrdinalIgnoreCase);
        var globs = new List<(ModelPattern, Price)>();
        foreach (var (model, price) in settings)
        {
            if (string.IsNullOrWhiteSpace(model))
            {
                errors.Add($"{path}: a price needs a model name or glob.");
                continue;
            }
            if (price.Input < 0 || price.Output < 0 || price.CachedInput < 0)
            {
                errors.Add($"{path}:{model}: prices must not be negative.");
                continue;
            }
            if (price.DefaultMaxTokens <= 0)
            {
                errors.Add($"{path}:{model}:DefaultMaxTokens must be positive (was {price.DefaultMaxTokens}).");
                continue;
            }
            var compiled = new Price(price.Input, price.CachedInput ?? price.Input, price.Output, price.DefaultMaxTokens);
            var pattern = new ModelPattern(model);
            if (pattern.IsExact)
            {
                exact[pattern.Text] = compiled;
            }
            else
            {
                globs.Add((pattern, compiled));
            }
        }
        globs.Sort((a, b) => b.Item1.LiteralLength.CompareTo(a.Item1.LiteralLength));
        return new PriceTable(exact, [.. globs]);
    }

    /// <summary>List prices (USD per 1M tokens) of common models, as published by their providers in 2025.</summary>
    public static Dictionary<string, PriceSettings> Defaults() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-5"] = new() { Input = 1.25m, CachedInput = 0.125m, Output = 10m },
        ["gpt-5-*"] = new() { Input = 1.25m, CachedInput = 0.125m, Output = 10m },
        ["gpt-5-mini*"] = new() { Input = 0.25m, CachedInput = 0.025m, Output = 2m },
        ["gpt-5-nano*"] = new() { Input = 0.05m, CachedInput = 0.005m, Output = 0.4m },
        ["gpt-4o"] = new() { Input = 2.5m, CachedInput = 1.25m, Output = 10m },
        ["gpt-4o-*"] = new() { Input = 2.5m, CachedInput = 1.25m, Output = 10m },
        ["gpt-4o-mini*"] = new() { Input = 0.15m, CachedInput = 0.075m, Output = 0.6m },
        ["gpt-4.1"] = new() { Input = 2m, CachedInput = 0.5m, Output = 8m },
        ["gpt-4.1-*"] = new() { Input = 2m, CachedInput = 0.5m, Output = 8m },
        ["gpt-4.1-mini*"] = new() { Input = 0.4m, CachedInput = 0.1m, Output = 1.6m },
        ["gpt-4.1-nano*"] = new() { Input = 0.1m, CachedInput = 0.025m, Output = 0.4m },
        ["gpt-4.5-preview*"] = new() { Input = 75m, CachedInput = 37.5m, Output = 150m },
        ["chatgpt-4o-latest"] = new() { Input = 5m, Output = 15m },
        ["gpt-4-turbo*"] = new() { Input = 10m, Output = 30m },
        ["gpt-4-1106-preview"] = new() { Input = 10m, Output = 30m },
        ["gpt-4-0125-preview"] = new() { Input = 10m, Output = 30m },
        ["gpt-4"] = new() { Input = 30m, Output = 60m },
        ["gpt-4-0613"] = new() { Input = 30m, Output = 60m },
        ["gpt-4-32k*"] = new() { Input = 60m, Output = 120m },
        ["o1"] = new() { Input = 15m, CachedInput = 7.5m, Output = 60m },
        ["o1-2*"] = new() { Input = 15m, CachedInput = 7.5m, Output = 60m },
        ["o1-preview*"] = new() { Input = 15m, CachedInput = 7.5m, Output = 60m },
        ["o1-mini*"] = new() { Input = 1.1m, CachedInput = 0.55m, Output = 4.4m },
        ["o1-pro*"] = new() { Input = 150m, Output = 600m },
        ["o3"] = new() { Input = 2m, CachedInput = 0.5m, Output = 8m },
        ["o3-2*"] = new() { Input = 2m, CachedInput = 0.5m, Output = 8m },
        ["o3-mini*"] = new() { Input = 1.1m, CachedInput = 0.55m, Output = 4.4m },
        ["o3-pro*"] = new() { Input = 20m, Output = 80m },
        ["o4-mini*"] = new() { Input = 1.1m, CachedInput = 0.275m, Output = 4.4m },
        ["gpt-3.5-turbo*"] = new() { Input = 0.5m, Output = 1.5m },
        ["deepseek-chat"] = new() { Input = 0.27m, CachedInput = 0.07m, Output = 1.1m },
        ["deepseek-v3*"] = new() { Input = 0.27m, CachedInput = 0.07m, Output = 1.1m },
        ["deepseek-reasoner"] = new() { Input = 0.55m, CachedInput = 0.14m, Output = 2.19m },
        ["deepseek-r1*"] = new() { Input = 0.55m, CachedInput = 0.14m, Output = 2.19m },
        ["text-embedding-3-small"] = new() { Input = 0.02m, Output = 0m },
        ["text-embedding-3-large"] = new() { Input = 0.13m, Output = 0m },
        ["text-embedding-ada-002"] = new() { Input = 0.1m, Output = 0m },
        ["omni-moderation-*"] = new() { Input = 0m, Output = 0m },
        ["text-moderation-*"] = new() { Input = 0m, Output = 0m },
    };
}
