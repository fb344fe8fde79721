using System.Collections.Concurrent;
using Sluice.Core.Billing;
using Sluice.Core.Limits;
using Sluice.Core.Models;

namespace Sluice.Core.Plans;

/// <summary>
/// A plan compiled from its settings: request limits, allowed models, per-model daily caps, the prompt cap,
/// billing mode and prices, ready to be applied to a request.
/// </summary>
public sealed partial class Plan
{
    private const int MaxRememberedModels = 4_096;

    private readonly ModelCap[] _caps;
    private readonly ModelPattern[] _allowed;
    private readonly ConcurrentDictionary<(string, ModelFamily), ModelRules> _rules = new();

    private Plan(string name, LimitPolicy[] policies, ModelCap[] caps, ModelPattern[] allowed, int? maxPromptTokens,
        BillingMode billing, bool giveBack, PriceTable prices, TimeZoneInfo? dayZone)
    {
        Name = name;
        Policies = policies;
        _caps = caps;
        _allowed = allowed;
        MaxPromptTokens = maxPromptTokens;
        Billing = billing;
        GiveBackFailedCalls = giveBack;
        Prices = prices;
        DayZone = dayZone;
    }

    public string Name { get; }

    /// <summary>The request limits (key, IP, …), checked on every counted call.</summary>
    public LimitPolicy[] Policies { get; }

    /// <summary>Every model cap, in the order they are matched.</summary>
    public IEnumerable<LimitPolicy> Caps => _caps.Select(c => c.Policy);

    public int? MaxPromptTokens { get; }

    public BillingMode Billing { get; }

    public bool GiveBackFailedCalls { get; }

    public PriceTable Prices { get; }

    /// <summary>The zone of a calendar day, or null when a day is any 24 hours.</summary>
    public TimeZoneInfo? DayZone { get; }

    /// <summary>Whether any model is restricted (then calls without a model pass, calls with one are checked).</summary>
    public bool RestrictsModels => _allowed.Length > 0;

    /// <summary>The allowed model patterns, for messages.</summary>
    public IEnumerable<string> AllowedModels => _allowed.Select(p => p.Text);

    /// <summary>What this plan says about <paramref name="model"/> in <paramref name="family"/> (remembered per model).</summary>
    public ModelRules RulesFor(string? model, ModelFamily family)
    {
        if (model is null)
        {
            return ModelRules.Unrestricted;
        }
        if (_rules.TryGetValue((model, family), out var rules))
        {
            return rules;
        }
        rules = Compute(model, family);
        // Only allowed models are remembered: names made up by clients cannot fill the table.
        if (rules.Allowed && _rules.Count < MaxRememberedModels)
        {
            _rules.TryAdd((model, family), rules);
        }
        return rules;
    }

    /// <summary>The counters a call from <paramref name="keyId"/> at <paramref name="addressGroup"/> must fit into.</summary>
    public LimitCheck[] ChecksFor(string keyId, UInt128 addressGroup, LimitPolicy? cap = null)
    {
        var checks = new LimitCheck[Policies.Length + (cap is null ? 0 : 1)];
        for (var i = 0; i < Policies.Length; i++)
        {
            var policy = Policies[i];
            checks[i] = new LimitCheck(policy, policy.Subject == LimitSubject.Key ? policy.CounterFor(keyId) : policy.CounterFor(addressGroup));
        }
        if (cap is not null)
        {
            checks[^1] = new LimitCheck(cap, cap.CounterFor(keyId));
        }
        return checks;
    }

    /// <summary>The per-key counters only: request limits by key, and every model cap.</summary>
    public LimitCheck[] KeyChecksFor(string keyId, bool includeCaps = false)
    {
        var checks = new List<LimitCheck>(Policies.Length + _caps.Length);
        foreach (var policy in Policies)
        {
            if (policy.Subject == LimitSubject.Key)
            {
                checks.Add(new LimitCheck(policy, policy.CounterFor(keyId)));
            }
        }
        if (includeCaps)
        {
            foreach (var cap in _caps)
            {
                checks.Add(new LimitCheck(cap.Policy, cap.Policy.CounterFor(keyId)));
            }
        }
        return [.. checks];
    }

    /// <summary>The per-address counters only.</summary>
    public LimitCheck[] IpChecksFor(UInt128 addressGroup)
    {
        var checks = new List<LimitCheck>(Policies.Length);
        foreach (var policy in Policies)
        {
            if (policy.Subject == LimitSubject.Ip)
            {
                checks.Add(new LimitCheck(policy, policy.CounterFor(addressGroup)));
            }
        }
        return [.. checks];
    }

    private ModelRules Compute(string model, ModelFamily family)
    {
        var allowed = _allowed.Length == 0;
        foreach (var pattern in _allowed)
        {
            if (pattern.Matches(model))
            {
                allowed = true;
                break;
            }
        }
        LimitPolicy? cap = null;
        foreach (var candidate in _caps)
        {
            if (candidate.Family == family && candidate.Matches(model))
            {
                cap = candidate.Policy;
                break;
            }
        }
        var price = Prices.Find(model);
        return new ModelRules(allowed, cap, price ?? Price.Free, price is not null);
    }

    private sealed record ModelCap(LimitPolicy Policy, ModelPattern[] Patterns, ModelFamily Family)
    {
        public bool Matches(string model)
        {
            foreach (var pattern in Patterns)
            {
                if (pattern.Matches(model))
                {
                    return true;
                }
            }
            return false;
        }
    }
}
