namespace Sluice.Core.Plans;

/// <summary>A plan as configured (<c>Sluice:Plans:&lt;name&gt;</c>); compiled into a <see cref="Plan"/> at start-up.</summary>
public sealed class PlanSettings
{
    /// <summary>The request limits; a request is admitted only when it fits into all of them.</summary>
    public List<RequestLimitSettings> Limits { get; set; } = [];
}
