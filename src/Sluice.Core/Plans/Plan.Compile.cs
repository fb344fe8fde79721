using Sluice.Core.Billing;
using Sluice.Core.Limits;
using Sluice.Core.Models;

namespace Sluice.Core.Plans;

public sealed partial class Plan
{
    /// <summary>Compiles settings into a plan, adding every problem found to <paramref name="errors"/>.</summary>
    public static Plan? Compile(string name, PlanSettings settings, ICollection<string> errors, IReadOnlyDictionary<string, PriceSettings>? globalPrices = null)
    {
        var before = errors.Count;
        var root = $"Sluice:Plans:{name}";
        if (string.IsNullOrWhiteSpace(name) || name.Contains(':', StringComparison.Ordinal) || name.Contains('|', StringComparison.Ordinal))
        {
            errors.Add($"{root}: a plan name must be non-empty and must not contain ':' or '|'.");
        }
        TimeZoneInfo? zone = null;
        if (settings.Day.Mode == DayMode.Calendar)
        {
            zone = ZoneParser.Find(settings.Day.TimeZone);
            if (zone is null)
            {
                errors.Add($"{root}:Day:TimeZone: '{settings.Day.TimeZone}' is not a time zone (use an IANA id such as Asia/Shanghai, or UTC+08:00).");
            }
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var policies = new List<LimitPolicy>();
        for (var i = 0; i < settings.Limits.Count; i++)
        {
            var limit = settings.Limits[i];
            var path = $"{root}:Limits:{i}";
            if (limit.Requests < 0)
            {
                errors.Add($"{path}:Requests must be 0 or more (was {limit.Requests}).");
            }
            if (limit.Window < TimeSpan.FromSeconds(1) || limit.Window > LimitPolicy.MaxWindow)
            {
                errors.Add($"{path}:Window must be between 00:00:01 and {LimitPolicy.MaxWindow:d\\.hh\\:mm\\:ss} (was {limit.Window}); write 24 hours as 1.00:00:00.");
            }
            var limitZone = limit.CalendarDay ? zone ?? TimeZoneInfo.Utc : null;
            foreach (var (policyName, subject) in Expand(limit))
            {
                if (!names.Add(policyName))
                {
                    errors.Add($"{path}: the limit name '{policyName}' is used twice in plan '{name}'; give one a Name.");
                }
                if (errors.Count == before)
                {
                    policies.Add(new LimitPolicy(name, policyName, subject, limit.Requests, limit.Window, limitZone));
                }
            }
        }
        var caps = new List<ModelCap>();
        for (var i = 0; i < settings.Models.Caps.Count; i++)
        {
            var cap = settings.Models.Caps[i];
            var path = $"{root}:Models:Caps:{i}";
            if (string.IsNullOrWhiteSpace(cap.Name) || cap.Name.Contains('|', StringComparison.Ordinal))
            {
                errors.Add($"{path}:Name is required (it names the cap in headers and messages).");
                continue;
            }
            if (!names.Add(cap.Name))
            {
                errors.Add($"{path}: the name '{cap.Name}' is already used by another limit or cap of plan '{name}'.");
            }
            if (cap.Requests < 0)
            {
                errors.Add($"{path}:Requests must be 0 or more (was {cap.Requests}).");
            }
            if (cap.Models.Count == 0 || cap.Models.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"{path}:Models must list model names or globs (e.g. gpt-4o, gpt-4o-*).");
            }
            if (errors.Count == before)
            {
                var policy = new LimitPolicy(name, cap.Name, LimitSubject.Key, cap.Requests, TimeSpan.FromDays(1), zone, LimitKind.ModelCap, string.Join(", ", cap.Models));
                caps.Add(new ModelCap(policy, [.. cap.Models.Select(m => new ModelPattern(m))], cap.Family));
            }
        }
        if (settings.Models.Allowed.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{root}:Models:Allowed must not contain empty entries.");
        }
        if (settings.MaxPromptTokens is <= 0)
        {
            errors.Add($"{root}:MaxPromptTokens must be positive when set (was {settings.MaxPromptTokens}).");
        }
        var prices = new Dictionary<string, PriceSettings>(globalPrices ?? new Dictionary<string, PriceSettings>(), StringComparer.OrdinalIgnoreCase);
        foreach (var (model, price) in settings.Prices)
        {
            prices[model] = price;
        }
        var table = PriceTable.Compile(prices, settings.Prices.Count > 0 ? $"{root}:Prices" : "Sluice:Prices", errors);
        if (errors.Count != before)
        {
            return null;
        }
        var allowed = settings.Models.Allowed.Select(m => new ModelPattern(m)).ToArray();
        return new Plan(name, [.. policies], [.. caps], allowed, settings.MaxPromptTokens, settings.Billing, settings.GiveBackFailedCalls, table, zone);
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
