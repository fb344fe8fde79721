using Sluice.Core.Billing;
using Sluice.Core.Models;

namespace Sluice.Core.Plans;

/// <summary>Every configured plan by name, compiled and validated once at start-up.</summary>
public sealed class PlanCatalog
{
    /// <summary>The plan a key gets when none is named.</summary>
    public const string DefaultPlan = "free";

    private readonly Dictionary<string, Plan> _plans;

    private PlanCatalog(Dictionary<string, Plan> plans)
    {
        _plans = plans;
    }

    public IReadOnlyCollection<Plan> All => _plans.Values;

    public Plan? Find(string name) => _plans.GetValueOrDefault(name);

    /// <summary>
    /// The public free service (GPT_API_free): 150 requests per rolling 24 hours per key across all IPs and per IP
    /// across all keys; per key per day (midnight Beijing time) 5 gpt-4o-family and 5 gpt-5-family calls, 30 deepseek,
    /// 200 mini/nano, 200 embeddings; prompts up to 4,096 tokens; no balance (usage shows as a negative balance).
    /// </summary>
    public static Dictionary<string, PlanSettings> Defaults() => new(StringComparer.Ordinal)
    {
        [DefaultPlan] = new PlanSettings
        {
            Limits = [new RequestLimitSettings { Scope = LimitScope.KeyAndIp, Requests = 150, Window = TimeSpan.FromDays(1) }],
            Day = new DaySettings { Mode = DayMode.Calendar, TimeZone = "Asia/Shanghai" },
            Models = new ModelSettings
            {
                Allowed =
                [
                    "gpt-5", "gpt-5-*", "gpt-4o", "gpt-4o-*", "gpt-4.1", "gpt-4.1-*", "gpt-3.5-turbo*",
                    "deepseek-*", "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
                    "omni-moderation-*", "text-moderation-*",
                ],
                Caps =
                [
                    new ModelCapSettings { Name = "mini", Models = ["*-mini", "*-mini-*", "*-nano", "*-nano-*"], Requests = 200 },
                    new ModelCapSettings { Name = "gpt-4o", Models = ["gpt-4o", "gpt-4o-*", "chatgpt-4o*"], Requests = 5 },
                    new ModelCapSettings { Name = "gpt-5", Models = ["gpt-5", "gpt-5-*"], Requests = 5 },
                    new ModelCapSettings { Name = "deepseek", Models = ["deepseek-*"], Requests = 30 },
                    new ModelCapSettings { Name = "embeddings", Models = ["text-embedding-*"], Family = ModelFamily.Embeddings, Requests = 200 },
                ],
            },
            MaxPromptTokens = 4_096,
            Billing = BillingMode.Free,
        },
    };

    /// <summary>Compiles every plan; returns null and lists every problem when any plan is invalid.</summary>
    public static PlanCatalog? Compile(IReadOnlyDictionary<string, PlanSettings> settings, ICollection<string> errors, IReadOnlyDictionary<string, PriceSettings>? prices = null)
    {
        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        var before = errors.Count;
        if (settings.Count == 0)
        {
            errors.Add("Sluice:Plans: at least one plan must be configured.");
        }
        foreach (var (name, planSettings) in settings)
        {
            var plan = Plan.Compile(name, planSettings, errors, prices);
            if (plan is not null)
            {
                plans[name] = plan;
            }
        }
        return errors.Count == before ? new PlanCatalog(plans) : null;
    }
}
