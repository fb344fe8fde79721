namespace Sluice.Core.Limits;

/// <summary>
/// A named request limit of a plan applied to one kind of subject, e.g. <c>key</c>: 150 per rolling 24 h per key,
/// or a model cap such as <c>gpt-4o</c>: 5 per calendar day (in a time zone) per key. Made once from configuration
/// and shared by every request.
/// </summary>
public sealed class LimitPolicy
{
    public const long DayMs = 86_400_000;

    private readonly int _scopeId;
    private CalendarDay? _lastDay;

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
        _scopeId = CounterScopes.IdOf(Scope);
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

    public CounterKey CounterFor(string keyId) => new(Scope, _scopeId, keyId, 0);

    public CounterKey CounterFor(UInt128 addressGroup) => new(Scope, _scopeId, null, addressGroup);

    /// <summary>
    /// How long a counter must keep its times: the window, or for a calendar day the longest a day can last
    /// (25 hours on the day clocks go back, plus a margin), so that a sweep never forgets a time of today.
    /// </summary>
    public long RetentionMs => CalendarZone is null ? WindowMs : DayMs + (2 * 3_600_000);

    /// <summary>
    /// The start of the zone's calendar day containing <paramref name="nowMs"/>: its local midnight, with the
    /// offset in force at that midnight (a day on which the clocks change lasts 23 or 25 hours).
    /// </summary>
    public long DayStartMs(long nowMs) => DayOf(nowMs).Start;

    /// <summary>The end of the zone's calendar day containing <paramref name="nowMs"/> (the next day's start).</summary>
    public long DayEndMs(long nowMs) => DayOf(nowMs).End;

    /// <summary>
    /// The calendar days around <paramref name="nowMs"/> as four boundaries: the previous day's start, this day's
    /// start, its end (the next day's start) and the next day's end, for a store whose own clock may be a moment
    /// ahead of or behind this one (Redis), to pick the day its time falls into.
    /// </summary>
    public string DayBoundaries(long nowMs) => DayOf(nowMs).Boundaries;

    /// <summary>The calendar day containing the time; the last one found is kept, as nearly every call asks for it again.</summary>
    private CalendarDay DayOf(long nowMs)
    {
        var day = _lastDay;
        if (day is not null && nowMs >= day.Start && nowMs < day.End)
        {
            return day;
        }
        var zone = CalendarZone ?? TimeZoneInfo.Utc;
        var date = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(nowMs), zone).Date;
        var (start, end) = (MidnightMs(zone, date), MidnightMs(zone, date.AddDays(1)));
        day = new CalendarDay(start, end, string.Join(',', MidnightMs(zone, date.AddDays(-1)), start, end, MidnightMs(zone, date.AddDays(2))));
        _lastDay = day;
        return day;
    }

    /// <summary>One calendar day, with its <see cref="DayBoundaries"/> text (made once a day, not per decision).</summary>
    private sealed record CalendarDay(long Start, long End, string Boundaries);

    /// <summary>
    /// The UTC instant of a local midnight. Where the clocks skip midnight (a day that starts at 01:00), the day
    /// starts at the first local time that exists; where midnight happens twice, at the first of them.
    /// </summary>
    private static long MidnightMs(TimeZoneInfo zone, DateTime localDate)
    {
        var midnight = DateTime.SpecifyKind(localDate, DateTimeKind.Unspecified);
        var start = midnight;
        while (zone.IsInvalidTime(start))
        {
            start = start.AddMinutes(15);
        }
        var offset = zone.IsAmbiguousTime(start) ? zone.GetAmbiguousTimeOffsets(start).Max() : zone.GetUtcOffset(start);
        return new DateTimeOffset(start, offset).ToUnixTimeMilliseconds();
    }

    /// <summary>Times at or before this no longer count.</summary>
    public long CutoffMs(long nowMs) => CalendarZone is null ? nowMs - WindowMs : DayStartMs(nowMs) - 1;

    /// <summary>When a counted time stops counting: one window after it, or at the end of the calendar day.</summary>
    public long ExpiryMs(long timeMs, long nowMs) => CalendarZone is null ? timeMs + WindowMs : DayEndMs(nowMs);

    public override string ToString() => $"{Scope} {Limit}/{(CalendarZone is null ? Window.ToString() : "day " + CalendarZone.Id)}";
}
