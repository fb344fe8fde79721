using System.Globalization;

namespace Sluice.Core.Plans;

/// <summary>Finds a time zone by IANA id (<c>Asia/Shanghai</c>) or as a fixed offset (<c>UTC+08:00</c>, <c>UTC</c>).</summary>
public static class ZoneParser
{
    public static TimeZoneInfo? Find(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        text = text.Trim();
        if (text.Equals("UTC", StringComparison.OrdinalIgnoreCase) || text.Equals("Z", StringComparison.Ordinal))
        {
            return TimeZoneInfo.Utc;
        }
        if (text.StartsWith("UTC", StringComparison.OrdinalIgnoreCase) && text.Length > 3
            && TimeSpan.TryParseExact(text[4..], ["hh\\:mm", "hh", "h"], CultureInfo.InvariantCulture, out var offset)
            && (text[3] == '+' || text[3] == '-'))
        {
            var signed = text[3] == '-' ? -offset : offset;
            return TimeZoneInfo.CreateCustomTimeZone(text.ToUpperInvariant(), signed, text.ToUpperInvariant(), text.ToUpperInvariant());
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(text);
        }
        catch (TimeZoneNotFoundException)
        {
            return null;
        }
        catch (InvalidTimeZoneException)
        {
            return null;
        }
    }
}
