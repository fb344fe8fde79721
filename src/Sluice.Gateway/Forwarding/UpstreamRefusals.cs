using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The upstream refusing the operator rather than the user: its 401 or 403 (the operator's upstream key is wrong,
/// revoked or lacks access) and its 429 (the operator's account is rate-limited or out of quota). Relayed as they
/// are, they would tell the user that their own key is wrong or show the operator's organization; they become a
/// 502 or 503 that says whose problem it is, and the call is given back (it is a 5xx) and costs nothing.
/// </summary>
internal static class UpstreamRefusals
{
    private static readonly TimeSpan DefaultRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromHours(1);

    public static bool Applies(int upstreamStatus) =>
        upstreamStatus is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden or StatusCodes.Status429TooManyRequests;

    /// <summary>How long the upstream asked to wait (its <c>Retry-After</c> in seconds), if it said.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) => header?.Delta;

    public static Task WriteAsync(HttpContext context, int upstreamStatus, TimeSpan? retryAfter)
    {
        if (upstreamStatus == StatusCodes.Status429TooManyRequests)
        {
            var wait = retryAfter ?? DefaultRetry;
            var seconds = RetryAdvice.Apply(context.Response.Headers, wait > LongestRetry ? LongestRetry : wait);
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"The upstream provider is rate-limiting this server right now (HTTP 429). Nothing was counted against your limits; please retry in {seconds} seconds.",
                OpenAIErrors.ServerError, "upstream_rate_limited");
        }
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status502BadGateway,
            $"The upstream provider refused this server's own credentials (HTTP {upstreamStatus}). This is not a problem with your API key and nothing was counted; please tell the operator of this server.",
            OpenAIErrors.ServerError, "upstream_refused");
    }
}
