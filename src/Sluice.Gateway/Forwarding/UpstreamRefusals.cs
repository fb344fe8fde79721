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

    /// <summary>
    /// An error whose body is not JSON (an HTML page of a proxy or load balancer in front of the provider, or no body):
    /// no OpenAI client can read it, so it is answered with an OpenAI-shaped error of the same status instead.
    /// </summary>
    public static bool IsUnreadableError(HttpResponseMessage response)
    {
        if ((int)response.StatusCode < StatusCodes.Status400BadRequest)
        {
            return false;
        }
        var media = response.Content.Headers.ContentType?.MediaType;
        return media is null || !media.Contains("json", StringComparison.OrdinalIgnoreCase);
    }

    public static Task WriteUnreadableAsync(HttpContext context, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var media = response.Content.Headers.ContentType?.MediaType ?? "no body type";
        return status >= StatusCodes.Status500InternalServerError
            ? OpenAIErrors.WriteAsync(context, status,
                $"The upstream provider failed with HTTP {status} and a non-API answer ({media}). Please retry your request.",
                OpenAIErrors.ServerError, "upstream_error")
            : OpenAIErrors.WriteAsync(context, status,
                $"The upstream provider refused the call with HTTP {status} and a non-API answer ({media}), which usually means this server's upstream address is wrong; please tell the operator of this server.",
                OpenAIErrors.InvalidRequest, "upstream_error");
    }

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
