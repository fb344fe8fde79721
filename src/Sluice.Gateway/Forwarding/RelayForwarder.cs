using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The last step: forwards the call with YARP's <see cref="IHttpForwarder"/>, which streams both bodies (server-sent
/// events pass through as they arrive) and cancels the upstream call when the client goes away. A failure
/// before the answer started becomes an OpenAI-shaped 502 (unreachable) or 504 (timed out).
/// </summary>
internal sealed class RelayForwarder
{
    private readonly IHttpForwarder _forwarder;
    private readonly UpstreamClient _upstream;
    private readonly RelayTransformer _transformer;
    private readonly ILogger _logger;

    public RelayForwarder(RequestDelegate next, IHttpForwarder forwarder, UpstreamClient upstream, ILogger<RelayForwarder> logger)
    {
        // The last step: nothing comes after forwarding, so next is never called.
        _ = next;
        _forwarder = forwarder;
        _upstream = upstream;
        _transformer = new RelayTransformer(upstream);
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var error = await _forwarder.SendAsync(context, _upstream.DestinationPrefix, _upstream.Invoker, _upstream.RequestConfig, _transformer);
        if (error == ForwarderError.None)
        {
            return;
        }
        var exception = context.GetForwarderErrorFeature()?.Exception;
        var clientGone = error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient;
        if (clientGone)
        {
            return;
        }
        ForwardingLog.UpstreamFailed(_logger, context.Request.Method, context.Request.Path.Value ?? "/", error, ForwardingLog.Reason(exception));
        var feature = context.Features.Get<SluiceRequestFeature>();
        if (feature is not null)
        {
            feature.UpstreamFailed = true;
            feature.UpstreamBrokeOff = context.Response.HasStarted;
        }
        if (context.Response.HasStarted)
        {
            // Part of the answer is already with the client; YARP has aborted the connection so that it sees the cut.
            return;
        }
        if (feature?.AdmissionToReport(failed: true) is { } admission)
        {
            RateLimitHeaders.Apply(context.Response.Headers, admission);
        }
        if (error == ForwarderError.RequestTimedOut)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status504GatewayTimeout,
                $"The upstream provider did not answer within {_upstream.Timeout.TotalSeconds:0} seconds. Please retry your request.",
                OpenAIErrors.ServerError, "upstream_timeout");
            return;
        }
        await OpenAIErrors.WriteAsync(context, StatusCodes.Status502BadGateway,
            "The upstream provider could not be reached or broke off the call. Please retry your request; if it keeps failing, contact the operator of this server.",
            OpenAIErrors.ServerError, "upstream_unavailable");
    }
}
