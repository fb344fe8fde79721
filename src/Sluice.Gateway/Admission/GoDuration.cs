using System.Globalization;

namespace Sluice.Gateway.Admission;

/// <summary>Formats a duration the way Go's <c>time.Duration.String</c> does (<c>23h59m58s</c>, <c>6m0s</c>,
/// <c>1.5s</c>, <c>20ms</c>), which is what OpenAI's <c>x-ratelimit-reset-requests</c> carries.</summary>
public static class GoDuration
{
    public static string Format(long milliseconds)
    {
        if (milliseconds <= 0)
        {
            return "0s";
        }
        if (milliseconds < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{milliseconds}ms");
        }
        var hours = milliseconds / 3_600_000;
        var minutes = milliseconds / 60_000 % 60;
        var seconds = milliseconds / 1000 % 60;
        var fraction = milliseconds % 1000;
        var secondsText = fraction == 0
            ? seconds.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{seconds}.{fraction:000}").TrimEnd('0');
        if (hours > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{hours}h{minutes}m{secondsText}s");
        }
        if (minutes > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{minutes}m{secondsText}s");
        }
        return secondsText + "s";
    }
}
