namespace Sluice.Core.Plans;

/// <summary>What a "day" is on a plan.</summary>
public sealed class DaySettings
{
    /// <summary><c>Rolling</c>: any 24 hours; <c>Calendar</c>: from midnight to midnight in <see cref="TimeZone"/>.</summary>
    public DayMode Mode { get; set; } = DayMode.Rolling;

    /// <summary>An IANA zone (<c>Asia/Shanghai</c>) or a fixed offset (<c>UTC+08:00</c>); for calendar days.</summary>
    public string TimeZone { get; set; } = "UTC";
}

public enum DayMode
{
    Rolling,
    Calendar,
}
