using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Clients;
using Sluice.Core.Limits;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Admission;

/// <summary>
/// The 429 a refused request gets: which limit ran out (this key across all IPs, or this IP across all keys),
/// used and limit, and when the next request will go through; for an IP limit, a plain word that the IP may be
/// shared and that the key itself may still have room.
/// </summary>
public static class RateLimitRefusal
{
    public static Task WriteAsync(HttpContext context, AdmissionResult result, ClientAddress client, DateTimeOffset now)
    {
        RetryAdvice.Apply(context.Response.Headers, result.RetryAfterMs);
        RateLimitHeaders.Apply(context.Response.Headers, result);
        var code = result.Counters[result.BindingIndex].Policy.Kind == LimitKind.ModelCap ? "model_cap_exceeded" : "rate_limit_exceeded";
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, Message(result, client, now), "requests", code);
    }

    public static string Message(AdmissionResult result, ClientAddress client, DateTimeOffset now)
    {
        var binding = result.Counters[result.BindingIndex];
        var retryMs = result.RetryAfterMs;
        var at = now.AddMilliseconds(retryMs).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var window = Window(binding.Policy.Window);
        var next = $"The next request will be admitted in {GoDuration.Format(retryMs)} (at {at}).";
        if (binding.Policy.Kind == LimitKind.ModelCap)
        {
            var day = binding.Policy.CalendarZone is { } zone ? $"today (the day resets at 00:00 {ZoneName(zone)})" : "in the last 24 hours";
            return $"You have used all {binding.Limit} requests of the '{binding.Policy.Name}' models ({binding.Policy.Description}) allowed per key {day}: {binding.Used}/{binding.Limit}. "
                + $"The next request to these models will be admitted in {GoDuration.Format(retryMs)} (at {at}). Other models of your plan still work.";
        }
        if (binding.Policy.CalendarZone is not null)
        {
            window = $"day (since 00:00 {ZoneName(binding.Policy.CalendarZone)})";
        }
        if (binding.Policy.Subject == LimitSubject.Key)
        {
            return $"Rate limit reached for this API key ('{binding.Policy.Name}' limit): {binding.Used}/{binding.Limit} requests in the last {window}, counted across all IPs. {next}";
        }
        var keyRoom = KeyRoom(result);
        return $"Rate limit reached for your IP address {client.GroupText} ('{binding.Policy.Name}' limit): {binding.Used}/{binding.Limit} requests in the last {window}, counted across all API keys. "
            + "This IP may be shared with other users (cloud platforms such as Vercel, CDNs, proxies, NAT), so requests you never made can count against it"
            + keyRoom
            + $" {next} Calling from an address of your own avoids this.";
    }

    private static string ZoneName(TimeZoneInfo zone) => zone == TimeZoneInfo.Utc ? "UTC" : zone.Id;

    private static string KeyRoom(AdmissionResult result)
    {
        foreach (var counter in result.Counters)
        {
            if (counter.Policy.Subject == LimitSubject.Key && counter.Policy.Kind == LimitKind.Requests && !counter.Exhausted)
            {
                return $"; your API key itself still has room ({counter.Used}/{counter.Limit} used on the '{counter.Policy.Name}' limit).";
            }
        }
        return ".";
    }

    private static string Window(TimeSpan window)
    {
        if (window == TimeSpan.FromDays(1))
        {
            return "24 hours";
        }
        if (window.TotalHours >= 1 && window.Ticks % TimeSpan.TicksPerHour == 0)
        {
            return window.TotalHours == 1 ? "hour" : $"{window.TotalHours:0} hours";
        }
        if (window.TotalMinutes >= 1 && window.Ticks % TimeSpan.TicksPerMinute == 0)
        {
            return window.TotalMinutes == 1 ? "minute" : $"{window.TotalMinutes:0} minutes";
        }
        return $"{window.TotalSeconds:0} seconds";
    }
}
