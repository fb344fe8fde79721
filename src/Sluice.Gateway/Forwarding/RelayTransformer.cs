using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// Shapes each forwarded call: the client's credentials and forwarding headers are dropped and the operator's
/// upstream key put in their place; on the way back, the upstream's account details (organization, its own
/// rate limits, cookies) are dropped and the user's own rate-limit headers set.
/// </summary>
internal sealed class RelayTransformer : HttpTransformer
{
    /// <summary>
    /// The client's credentials, the account they would select (<c>OpenAI-Organization</c> and <c>OpenAI-Project</c>,
    /// which SDKs send from <c>OPENAI_ORG_ID</c> / <c>OPENAI_PROJECT_ID</c>: against the operator's key the upstream
    /// refuses any that is not the operator's), forwarding headers, and <c>Accept-Encoding</c>: metering reads the usage in the
    /// answer as it passes, which a compressed answer (OpenAI gzips JSON for SDKs, which all accept it) would hide;
    /// the upstream is asked for the plain answer (<c>identity</c>) and the client gets that.
    /// </summary>
    private static readonly string[] RequestHeadersToDrop =
    [
        "Authorization", "api-key", "x-api-key", "Cookie", "Proxy-Authorization", "OpenAI-Organization", "OpenAI-Project",
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Real-IP", "Forwarded",
        "Accept-Encoding",
    ];

    /// <summary>
    /// The upstream's account (<c>openai-organization</c>, <c>openai-project</c>) and cookies, and its policy for its own
    /// host: <c>Strict-Transport-Security</c> (OpenAI's has <c>includeSubDomains; preload</c>: passed on, it would pin
    /// HTTPS on this gateway's domain and every subdomain for a year). YARP itself drops <c>Alt-Svc</c>, which would send
    /// browsers to port 443 of this host for HTTP/3.
    /// </summary>
    private static readonly string[] ResponseHeadersToDrop = ["openai-organization", "openai-project", "Set-Cookie", "Strict-Transport-Security"];

    private readonly string? _authorization;

    public RelayTransformer(UpstreamClient upstream)
    {
        _authorization = upstream.Authorization;
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        // Dropped before YARP copies the headers (cheaper than removing them from the outgoing message afterwards);
        // nothing after forwarding reads them.
        var incoming = httpContext.Request.Headers;
        foreach (var header in RequestHeadersToDrop)
        {
            incoming.Remove(header);
        }
        // Headers the client names in Connection are for this hop only (RFC 9110, 7.6.1): YARP drops Connection itself,
        // not what it lists. Most clients send none or just keep-alive/close.
        var connection = incoming.Connection;
        if (connection.Count > 0)
        {
            DropListedIn(incoming, connection);
        }
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // The base copies the client's Host (this gateway's name); the upstream must see its own, which HttpClient
        // takes from the destination address when none is set. A provider behind a CDN refuses a foreign Host.
        proxyRequest.Headers.Host = null;
        // Plain answers only (see RequestHeadersToDrop): said explicitly, since without the header any coding is acceptable.
        proxyRequest.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
        if (_authorization is not null)
        {
            proxyRequest.Headers.TryAddWithoutValidation("Authorization", _authorization);
        }
        // A body read whole by the inspection step (and perhaps rewritten by metering) goes out from memory with the headers.
        if (proxyRequest.Content is not null && httpContext.Features.Get<SluiceRequestFeature>() is { Body.IsEmpty: false } feature)
        {
            BufferedBodyHandler.Use(proxyRequest, feature.Body);
        }
    }

    private static void DropListedIn(IHeaderDictionary headers, Microsoft.Extensions.Primitives.StringValues connection)
    {
        foreach (var value in connection)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase) && !token.Equals("close", StringComparison.OrdinalIgnoreCase))
                {
                    headers.Remove(token);
                }
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var feature = httpContext.Features.Get<SluiceRequestFeature>();
        var status = (int?)proxyResponse?.StatusCode;
        // Metering gives back what the upstream failed or refused; the headers already say so.
        var admission = feature?.AdmissionToReport(status is null || status >= StatusCodes.Status500InternalServerError || UpstreamRefusals.Applies(status.Value));
        if (status is not null && UpstreamRefusals.Applies(status.Value))
        {
            // Not the user's problem: answered here instead of the upstream's body (YARP then skips it).
            if (admission is not null)
            {
                RateLimitHeaders.Apply(httpContext.Response.Headers, admission);
            }
            await UpstreamRefusals.WriteAsync(httpContext, status.Value, UpstreamRefusals.RetryAfter(proxyResponse!.Headers.RetryAfter));
            return false;
        }
        if (proxyResponse is not null && UpstreamRefusals.IsUnreadableError(proxyResponse))
        {
            // An HTML error page (a proxy in front of the provider): an OpenAI-shaped error of the same status instead.
            if (admission is not null)
            {
                RateLimitHeaders.Apply(httpContext.Response.Headers, admission);
            }
            await UpstreamRefusals.WriteUnreadableAsync(httpContext, proxyResponse);
            return false;
        }
        var proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var headers = httpContext.Response.Headers;
        foreach (var header in ResponseHeadersToDrop)
        {
            headers.Remove(header);
        }
        foreach (var header in RateLimitHeaders.UpstreamHeaders)
        {
            headers.Remove(header);
        }
        if (admission is not null)
        {
            RateLimitHeaders.Apply(headers, admission);
        }
        return proceed;
    }
}
