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

    /// <summary>The public free service's rule: 150 requests per rolling 24 hours per key and per IP.</summary>
    public static Dictionary<string, PlanSettings> Defaults() => new(StringComparer.Ordinal)
    {
        [DefaultPlan] = new PlanSettings
        {
            Limits = [new RequestLimitSettings { Scope = LimitScope.KeyAndIp, Requests = 150, Window = TimeSpan.FromDays(1) }],
        },
    };

    /// <summary>Compiles every plan; returns null and lists every problem when any plan is invalid.</summary>
    public static PlanCatalog? Compile(IReadOnlyDictionary<string, PlanSettings> settings, ICollection<string> errors)
    {
        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        var before = errors.Count;
        if (settings.Count == 0)
        {
            errors.Add("Sluice:Plans: at least one plan must be configured.");
        }
        foreach (var (name, planSettings) in settings)
        {
            var plan = Plan.Compile(name, planSettings, errors);
            if (plan is not null)
            {
                plans[name] = plan;
            }
        }
        return errors.Count == before ? new PlanCatalog(plans) : null;
    }
}
