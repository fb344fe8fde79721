using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Limits;

namespace Sluice.Gateway.Admission;

/// <summary>
/// The rate-limit headers of every answer: OpenAI's <c>x-ratelimit-*-requests</c> for the binding limit (the one
/// with the least room), and the IETF <c>RateLimit-Policy</c> / <c>RateLimit</c> fields for every limit.
/// </summary>
public static class RateLimitHeaders
{
    public const string LimitRequests = "x-ratelimit-limit-requests";
    public const string RemainingRequests = "x-ratelimit-remaining-requests";
    public const string ResetRequests = "x-ratelimit-reset-requests";
    public const string RateLimitPolicy = "RateLimit-Policy";
    public const string RateLimit = "RateLimit";

    /// <summary>The upstream's own limit headers describe the operator's account, not the user's; they are dropped.</summary>
    public static readonly string[] UpstreamHeaders =
    [
        LimitRequests, RemainingRequests, ResetRequests,
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        RateLimitPolicy, RateLimit,
    ];

    /// <summary>Sets (replacing any present) the headers for <paramref name="result"/>.</summary>
    public static void Apply(IHeaderDictionary headers, AdmissionResult result)
    {
        var binding = result.BindingIndex;
        if (binding < 0)
        {
            return;
        }
        var counter = result.Counters[binding];
        headers[LimitRequests] = counter.Limit.ToString(CultureInfo.InvariantCulture);
        headers[RemainingRequests] = counter.Remaining.ToString(CultureInfo.InvariantCulture);
        headers[ResetRequests] = GoDuration.Format(WaitMs(counter));
        var policy = new StringBuilder(96);
        var state = new StringBuilder(96);
        foreach (var each in result.Counters)
        {
            if (policy.Length > 0)
            {
                policy.Append(", ");
                state.Append(", ");
            }
            policy.Append(CultureInfo.InvariantCulture, $"\"{each.Policy.Name}\";q={each.Limit};w={each.Policy.WindowMs / 1000}");
            state.Append(CultureInfo.InvariantCulture, $"\"{each.Policy.Name}\";r={each.Remaining};t={Seconds(WaitMs(each))}");
        }
        headers[RateLimitPolicy] = policy.ToString();
        headers[RateLimit] = state.ToString();
    }

    /// <summary>How long until this counter gains room: the retry time when exhausted, else the next expiry.</summary>
    public static long WaitMs(in CounterState counter) => counter.Exhausted ? counter.RetryAfterMs : counter.ResetAfterMs;

    /// <summary>Whole seconds, rounded up.</summary>
    public static long Seconds(long milliseconds) => (milliseconds + 999) / 1000;
}
