using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Limits;

namespace Sluice.Gateway.Admission;

/// <summary>
/// The rate-limit headers of every answer: OpenAI's <c>x-ratelimit-*-requests</c> for the binding limit (the one
/// with the least room), and the IETF <c>RateLimit-Policy</c> / <c>RateLimit</c> fields for every limit.
/// Set once per answer; the policy field, which only depends on the limits, is built once per set of limits.
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

    private static readonly string[] SmallIntegers = [.. Enumerable.Range(0, 1024).Select(i => i.ToString(CultureInfo.InvariantCulture))];
    private static readonly ConcurrentDictionary<(LimitPolicy First, LimitPolicy Last, int Count), string> PolicyFields = new();

    /// <summary>Sets (replacing any present) the headers for <paramref name="result"/>.</summary>
    public static void Apply(IHeaderDictionary headers, AdmissionResult result)
    {
        var binding = result.BindingIndex;
        if (binding < 0)
        {
            return;
        }
        var counter = result.Counters[binding];
        headers[LimitRequests] = Integer(counter.Limit);
        headers[RemainingRequests] = Integer(counter.Remaining);
        headers[ResetRequests] = GoDuration.Format(WaitMs(counter));
        headers[RateLimitPolicy] = PolicyField(result.Counters);
        headers[RateLimit] = StateField(result.Counters);
    }

    /// <summary>How long until this counter gains room: the retry time when exhausted, else the next expiry.</summary>
    public static long WaitMs(in CounterState counter) => counter.Exhausted ? counter.RetryAfterMs : counter.ResetAfterMs;

    /// <summary>Whole seconds, rounded up.</summary>
    public static long Seconds(long milliseconds) => (milliseconds + 999) / 1000;

    /// <summary><c>"key";q=150;w=86400, "ip";q=150;w=86400</c>: the same for every answer under the same limits.</summary>
    private static string PolicyField(CounterState[] counters) =>
        PolicyFields.GetOrAdd((counters[0].Policy, counters[^1].Policy, counters.Length), static (_, all) =>
        {
            var text = new StringBuilder(96);
            foreach (var each in all)
            {
                if (text.Length > 0)
                {
                    text.Append(", ");
                }
                text.Append(CultureInfo.InvariantCulture, $"\"{each.Policy.Name}\";q={each.Limit};w={each.Policy.WindowMs / 1000}");
            }
            return text.ToString();
        }, counters);

    /// <summary><c>"key";r=149;t=86400, "ip";r=149;t=86400</c>, built in one allocation.</summary>
    private static string StateField(CounterState[] counters)
    {
        Span<char> buffer = stackalloc char[512];
        var length = 0;
        foreach (var each in counters)
        {
            var name = each.Policy.Name;
            if (length + name.Length + 48 > buffer.Length)
            {
                return StateFieldSlow(counters);
            }
            if (length > 0)
            {
                buffer[length++] = ',';
                buffer[length++] = ' ';
            }
            buffer[length++] = '"';
            name.AsSpan().CopyTo(buffer[length..]);
            length += name.Length;
            "\";r=".AsSpan().CopyTo(buffer[length..]);
            length += 4;
            each.Remaining.TryFormat(buffer[length..], out var written, provider: CultureInfo.InvariantCulture);
            length += written;
            ";t=".AsSpan().CopyTo(buffer[length..]);
            length += 3;
            Seconds(WaitMs(each)).TryFormat(buffer[length..], out written, provider: CultureInfo.InvariantCulture);
            length += written;
        }
        return new string(buffer[..length]);
    }

    private static string StateFieldSlow(CounterState[] counters) =>
        string.Join(", ", counters.Select(c => string.Create(CultureInfo.InvariantCulture, $"\"{c.Policy.Name}\";r={c.Remaining};t={Seconds(WaitMs(c))}")));

    private static string Integer(int value) => (uint)value < (uint)SmallIntegers.Length ? SmallIntegers[value] : value.ToString(CultureInfo.InvariantCulture);
}
