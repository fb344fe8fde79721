using Sluice.Core.Limits;

namespace Sluice.Core.Plans;

/// <summary>A plan compiled from its settings: its limit policies, ready to be applied to a request.</summary>
public sealed class Plan
{
    public Plan(string name, IReadOnlyList<LimitPolicy> policies)
    {
        Name = name;
        Policies = [.. policies];
    }

    public string Name { get; }

    public LimitPolicy[] Policies { get; }

    /// <summary>The counters a request from <paramref name="keyId"/> at <paramref name="addressGroup"/> must fit into.</summary>
    public LimitCheck[] ChecksFor(string keyId, UInt128 addressGroup)
    {
        var checks = new LimitCheck[Policies.Length];
        for (var i = 0; i < Policies.Length; i++)
        {
            var policy = Policies[i];
            checks[i] = new LimitCheck(policy, policy.Subject == LimitSubject.Key ? policy.CounterFor(keyId) : policy.CounterFor(addressGroup));
        }
        return checks;
    }

    /// <summary>The per-key counters only (for reporting a key's usage without an address).</summary>
    public LimitCheck[] KeyChecksFor(string keyId)
    {
        var checks = new List<LimitCheck>(Policies.Length);
        foreach (var policy in Policies)
        {
            if (policy.Subject == LimitSubject.Key)
            {
                checks.Add(new LimitCheck(policy, policy.CounterFor(keyId)));
            }
        }
        return [.. checks];
    }

    /// <summary>Compiles settings into a plan, adding every problem found to <paramref name="errors"/>.</summary>
    public static Plan? Compile(string name, PlanSettings settings, ICollection<string> errors)
    {
        var policies = new List<LimitPolicy>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var before = errors.Count;
        if (string.IsNullOrWhiteSpace(name) || name.Contains(':', StringComparison.Ordinal) || name.Contains('|', StringComparison.Ordinal))
        {
            errors.Add($"Sluice:Plans:{name}: a plan name must be non-empty and must not contain ':' or '|'.");
        }
        for (var i = 0; i < settings.Limits.Count; i++)
        {
            var limit = settings.Limits[i];
            var path = $"Sluice:Plans:{name}:Limits:{i}";
            if (limit.Requests < 0)
            {
                errors.Add($"{path}:Requests must be 0 or more (was {limit.Requests}).");
            }
            if (limit.Window < TimeSpan.FromSeconds(1) || limit.Window > LimitPolicy.MaxWindow)
            {
                errors.Add($"{path}:Window must be between 00:00:01 and {LimitPolicy.MaxWindow:d\\.hh\\:mm\\:ss} (was {limit.Window}); write 24 hours as 1.00:00:00.");
            }
            foreach (var (policyName, subject) in Expand(limit))
            {
                if (!names.Add(policyName))
                {
                    errors.Add($"{path}: the limit name '{policyName}' is used twice in plan '{name}'; give one a Name.");
                }
                if (errors.Count == before)
                {
                    policies.Add(new LimitPolicy(name, policyName, subject, limit.Requests, limit.Window));
                }
            }
        }
        return errors.Count == before ? new Plan(name, policies) : null;
    }

    private static IEnumerable<(string Name, LimitSubject Subject)> Expand(RequestLimitSettings limit)
    {
        var prefix = string.IsNullOrWhiteSpace(limit.Name) ? null : limit.Name.Trim();
        switch (limit.Scope)
        {
            case LimitScope.Key:
                yield return (prefix ?? "key", LimitSubject.Key);
                break;
            case LimitScope.Ip:
                yield return (prefix ?? "ip", LimitSubject.Ip);
                break;
            default:
                yield return (prefix is null ? "key" : prefix + "-key", LimitSubject.Key);
                yield return (prefix is null ? "ip" : prefix + "-ip", LimitSubject.Ip);
                break;
        }
    }
}
