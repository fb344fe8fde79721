using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Logging;

/// <summary>
/// The outermost step: gives the request its <see cref="SluiceRequestFeature"/>, and when the request is done
/// logs one structured line with the key id, client address, model, status and latency.
/// A client that went away is logged with status 499, an answer the upstream broke off with 502.
/// </summary>
internal sealed class RequestLogMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public RequestLogMiddleware(RequestDelegate next, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _next = next;
        _logger = loggerFactory.CreateLogger("Sluice.Requests");
        _time = time;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var feature = new SluiceRequestFeature();
        context.Features.Set(feature);
        var started = _time.GetTimestamp();
        try
        {
            await _next(context);
        }
        finally
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
#pragma warning disable CA1873 // Guarded by IsEnabled above.
                var status = feature.UpstreamFailed && context.Response.HasStarted ? StatusCodes.Status502BadGateway
                    : context.RequestAborted.IsCancellationRequested ? 499
                    : context.Response.StatusCode;
                var latency = Math.Round(_time.GetElapsedTime(started).TotalMilliseconds, 2);
                RequestLog.RequestCompleted(
                    _logger,
                    context.Request.Method,
                    context.Request.Path.Value ?? "/",
                    status,
                    latency,
                    feature.Key?.Id ?? "-",
                    feature.Client.Address?.ToString() ?? "-",
                    feature.Model ?? "-");
#pragma warning restore CA1873
            }
        }
    }
}
