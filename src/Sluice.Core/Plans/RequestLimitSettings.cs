namespace Sluice.Core.Plans;

/// <summary>One configured request limit: at most <see cref="Requests"/> per rolling <see cref="Window"/>.</summary>
public sealed class RequestLimitSettings
{
    /// <summary>Names the limit in headers and messages; by default <c>key</c> / <c>ip</c> from the scope
    /// (a <see cref="LimitScope.KeyAndIp"/> limit named <c>daily</c> makes <c>daily-key</c> and <c>daily-ip</c>).</summary>
    public string? Name { get; set; }

    public LimitScope Scope { get; set; } = LimitScope.KeyAndIp;

    /// <summary>Requests admitted per window; 150 when not set, as on the public free service.</summary>
    public int Requests { get; set; } = 150;

    /// <summary>The rolling window; 24 hours when not set.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Count per calendar day of the plan's <see cref="PlanSettings.Day"/> zone instead of a rolling window.</summary>
    public bool CalendarDay { get; set; }
}
