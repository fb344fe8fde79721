namespace Sluice.Core.Limits;

/// <summary>
/// A named request limit of a plan applied to one kind of subject, e.g. <c>key</c>: 150 per rolling 24 h per key,
/// or a model cap such as <c>gpt-4o</c>: 5 per calendar day (in a time zone) per key. Made once from configuration
/// and shared by every request.
/// </summary>
public sealed class LimitPolicy
{
    public const long DayMs = 86_400_000;

    public LimitPolicy(string plan, string name, LimitSubject subject, int limit, TimeSpan window,
        TimeZoneInfo? calendarZone = null, LimitKind kind = LimitKind.Requests, string? description = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, MaxWindow);
        Plan = plan;
        Name = name;
        Subject = subject;
        Limit = limit;
        CalendarZone = calendarZone;
        Window = calendarZone is null ? window : TimeSpan.FromDays(1);
        WindowMs = (long)Window.TotalMilliseconds;
        Kind = kind;
        Description = description;
        Scope = string.Concat(plan, ":", name);
    }

    /// <summary>The longest window a sliding log can hold (its offsets are 32-bit milliseconds).</summary>
    public static TimeSpan MaxWindow { get; } = TimeSpan.FromDays(24);

    public string Plan { get; }

    /// <summary>The name users see in headers and messages, e.g. <c>key</c>, <c>ip</c> or <c>gpt-4o</c>.</summary>
    public string Name { get; }

    public LimitSubject Subject { get; }

    public int Limit { get; }

    /// <summary>The rolling window; one day for a calendar-day limit.</summary>
    public TimeSpan Window { get; }

    public long WindowMs { get; }

    /// <summary>When set, the limit counts per calendar day in this zone (reset at its midnight), not per rolling window.</summary>
    public TimeZoneInfo? CalendarZone { get; }

    public LimitKind Kind { get; }

    /// <summary>For a model cap, which models it counts (for messages), e.g. <c>gpt-4o, gpt-4o-*</c>.</summary>
    public string? Description { get; }

    /// <summary>The counter namespace, <c>plan:name</c>.</summary>
    public string Scope { get; }

    public CounterKey CounterFor(string keyId) => new(Scope, keyId);

    public CounterKey CounterFor(UInt128 addressGroup) => new(Scope, addressGroup);

    /// <summary>The zone's offset from UTC at <paramref name="nowMs"/>, in milliseconds (0 for a rolling limit).</summary>
    public long OffsetMs(long nowMs) =>
        CalendarZone is null ? 0 : (long)CalendarZone.GetUtcOffset(DateTimeOffset.FromUnixTimeMilliseconds(nowMs)).TotalMilliseconds;

    /// <summary>The start of the calendar day containing <paramref name="nowMs"/> (midnight in the zone, with the offset of that moment).</summary>
    public long DayStartMs(long nowMs)
    {
        var offset = OffsetMs(nowMs);
        return (nowMs + offset) / DayMs * DayMs - offset;
    }

    /// <summary>Times at or before this no longer count.</summary>
    public long CutoffMs(long nowMs) => CalendarZone is null ? nowMs - WindowMs : DayStartMs(nowMs) - 1;

    /// <summary>When a counted time stops counting: one window after it, or at the end of the calendar day.</summary>
    public long ExpiryMs(long timeMs, long nowMs) => CalendarZone is null ? timeMs + WindowMs : DayStartMs(nowMs) + DayMs;

    public override string ToString() => $"{Scope} {Limit}/{(CalendarZone is null ? Window.ToString() : "day " + CalendarZone.Id)}";
}
