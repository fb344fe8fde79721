using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Logging;

/// <summary>
/// The outermost step: gives the request its <see cref="SluiceRequestFeature"/>, and when the request is done
/// writes one access-log line with the key id (never the key), client address, model, status, latency and the call's
/// id, which every answer carries in <c>x-sluice-request-id</c>.
/// A client that went away is logged with status 499, an answer the upstream broke off with 502.
/// </summary>
internal sealed class RequestLogMiddleware
{
    private readonly RequestDelegate _next;
    private readonly AccessLog _log;
    private readonly TimeProvider _time;

    public RequestLogMiddleware(RequestDelegate next, AccessLog log, TimeProvider time)
    {
        _next = next;
        _log = log;
        _time = time;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var feature = new SluiceRequestFeature();
        context.Features.Set(feature);
        // Every answer carries the id of its access-log line (and of its ledger row, when it has one).
        context.Response.Headers[RequestIds.Header] = feature.RequestId;
        var started = _time.GetTimestamp();
        try
        {
            await _next(context);
        }
        finally
        {
            if (_log.Enabled)
            {
                var status = feature.UpstreamBrokeOff ? StatusCodes.Status502BadGateway
                    : context.RequestAborted.IsCancellationRequested ? 499
                    : context.Response.StatusCode;
                _log.Write(new AccessLogEntry(
                    _time.GetUtcNow(),
                    context.Request.Method,
                    context.Request.Path.Value ?? "/",
                    status,
                    _time.GetElapsedTime(started).TotalMilliseconds,
                    feature.Key?.Id,
                    feature.Client.Address?.ToString(),
                    feature.Model,
                    feature.RequestId));
            }
        }
    }
}
