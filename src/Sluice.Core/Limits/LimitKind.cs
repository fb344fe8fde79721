namespace Sluice.Core.Limits;

/// <summary>What a limit is for, which changes how a refusal is explained.</summary>
public enum LimitKind
{
    /// <summary>A request limit of the plan (the joint key+IP rule, a per-minute limit…).</summary>
    Requests,

    /// <summary>A per-model daily cap (e.g. 5 gpt-4o requests a day).</summary>
    ModelCap,
}
