using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Admission;

namespace Sluice.Gateway.Errors;

/// <summary>
/// When to retry an answer the gateway writes itself (a rate limit, the limiter or database unavailable, the upstream
/// rate-limiting the operator): <c>Retry-After</c> in whole seconds, rounded up and at least 1, so that a retry at
/// that moment is not early; <c>retry-after-ms</c>, the exact wait, which OpenAI's libraries read before
/// <c>Retry-After</c> (so a limit that frees up in 1.2 s is retried after 1.2 s, not 2); and
/// <c>x-should-retry: false</c> when the wait is longer than OpenAI's libraries should sit in a retry. They retry a
/// 429 or 5xx twice by default and obey that header; otherwise the Python library (and Node's 7.x) waits
/// <c>Retry-After</c> only up to 60 s and beyond that retries after 0.5–8 s into the same refusal, and Node's 6.x
/// waits <c>Retry-After</c> whatever it is: a day, for a daily limit. Up to 60 s the retry is left to them, and the
/// one after <c>Retry-After</c> goes through.
/// </summary>
public static class RetryAdvice
{
    /// <summary>Tells OpenAI's libraries whether retrying can help (they read no other header for it).</summary>
    public const string ShouldRetryHeader = "x-should-retry";

    /// <summary>The wait in milliseconds, read by OpenAI's libraries in preference to <c>Retry-After</c>.</summary>
    public const string RetryAfterMsHeader = "retry-after-ms";

    /// <summary>The longest wait after which the libraries are left to retry on their own.</summary>
    public static readonly TimeSpan LibraryRetryCeiling = TimeSpan.FromSeconds(60);

    /// <summary>Sets the headers for a wait of <paramref name="waitMs"/>; returns the <c>Retry-After</c> seconds.</summary>
    public static long Apply(IHeaderDictionary headers, long waitMs)
    {
        waitMs = Math.Max(0, waitMs);
        var seconds = Math.Max(1, RateLimitHeaders.Seconds(waitMs));
        headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        headers[RetryAfterMsHeader] = waitMs.ToString(CultureInfo.InvariantCulture);
        if (waitMs > LibraryRetryCeiling.TotalMilliseconds)
        {
            headers[ShouldRetryHeader] = "false";
        }
        return seconds;
    }

    /// <summary>Tells OpenAI's libraries not to retry a refusal that no retry can turn around (only the operator can,
    /// e.g. by topping up a balance), instead of retrying it twice.</summary>
    public static void Never(IHeaderDictionary headers) => headers[ShouldRetryHeader] = "false";

    /// <inheritdoc cref="Apply(IHeaderDictionary, long)"/>
    public static long Apply(IHeaderDictionary headers, TimeSpan wait) => Apply(headers, (long)Math.Ceiling(wait.TotalMilliseconds));
}
