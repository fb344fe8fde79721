using Sluice.Core.Limits;

namespace Sluice.Core.Tests.Limits;

/// <summary>Calendar days in a time zone: midnight to midnight in local time, also on days the clocks change.</summary>
public sealed class LimitPolicyTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeZoneInfo Beijing = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");

    private static LimitPolicy DailyIn(TimeZoneInfo zone) =>
        new("p", "gpt-4o", LimitSubject.Key, 5, TimeSpan.FromDays(1), zone, LimitKind.ModelCap);

    private static long Ms(int year, int month, int day, int hour, int minute = 0) =>
        new DateTimeOffset(year, month, day, hour, minute, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Beijing_DayRunsFromSixteenHundredUtcToSixteenHundredUtc()
    {
        var policy = DailyIn(Beijing);
        var now = Ms(2026, 11, 29, 15, 30); // 23:30 in Beijing
        Assert.Equal(Ms(2026, 11, 28, 16), policy.DayStartMs(now));
        Assert.Equal(Ms(2026, 11, 29, 16), policy.DayEndMs(now));
        Assert.Equal(Ms(2026, 11, 28, 16) - 1, policy.CutoffMs(now));
    }

    [Fact]
    public void ClocksGoForward_TheDayLasts23Hours_FromMidnightStandardTime()
    {
        // 2026-03-08 in New York: 00:00 EST (05:00 UTC) to 00:00 EDT on the 9th (04:00 UTC); asked at 11:00 EDT.
        var policy = DailyIn(NewYork);
        var now = Ms(2026, 3, 8, 15);
        Assert.Equal(Ms(2026, 3, 8, 5), policy.DayStartMs(now));
        Assert.Equal(Ms(2026, 3, 9, 4), policy.DayEndMs(now));
        Assert.Equal(Ms(2026, 3, 9, 4), policy.ExpiryMs(now, now));
    }

    [Fact]
    public void ClocksGoBack_TheDayLasts25Hours_AndCountersKeepTheirTimesThatLong()
    {
        // 2026-11-01 in New York: 00:00 EDT (04:00 UTC) to 00:00 EST on the 2nd (05:00 UTC); asked at 23:30 EST.
        var policy = DailyIn(NewYork);
        var now = Ms(2026, 11, 2, 4, 30);
        Assert.Equal(Ms(2026, 11, 1, 4), policy.DayStartMs(now));
        Assert.Equal(Ms(2026, 11, 2, 5), policy.DayEndMs(now));
        Assert.True(policy.RetentionMs >= TimeSpan.FromHours(25).TotalMilliseconds);
    }

    [Fact]
    public void DayBoundaries_AreTheDaysAroundNow()
    {
        var policy = DailyIn(NewYork);
        var boundaries = policy.DayBoundaries(Ms(2026, 3, 8, 15)).Split(',').Select(long.Parse).ToArray();
        Assert.Equal([Ms(2026, 3, 7, 5), Ms(2026, 3, 8, 5), Ms(2026, 3, 9, 4), Ms(2026, 3, 10, 4)], boundaries);
    }

    [Fact]
    public void RollingWindow_IsNotAffected()
    {
        var policy = new LimitPolicy("p", "key", LimitSubject.Key, 150, TimeSpan.FromDays(1));
        var now = Ms(2026, 3, 8, 15);
        Assert.Equal(now - LimitPolicy.DayMs, policy.CutoffMs(now));
        Assert.Equal(now - 1000 + LimitPolicy.DayMs, policy.ExpiryMs(now - 1000, now));
        Assert.Equal(LimitPolicy.DayMs, policy.RetentionMs);
    }
}
