using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Forwarding;

/// <summary>Answers <c>GET /v1/models</c> from <see cref="ModelsCache"/>; other calls pass on.</summary>
internal sealed class ModelsMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ModelsCache _cache;

    public ModelsMiddleware(RequestDelegate next, ModelsCache cache)
    {
        _next = next;
        _cache = cache;
    }

    public Task InvokeAsync(HttpContext context) =>
        HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals("/v1/models", StringComparison.Ordinal)
            ? ListAsync(context)
            : _next(context);

    private async Task ListAsync(HttpContext context)
    {
        var entry = await _cache.GetAsync(context.RequestAborted);
        if (entry.Failure == ModelsCache.FetchFailure.TimedOut)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status504GatewayTimeout,
                "The upstream provider did not answer the list of models in time. Please retry.", OpenAIErrors.ServerError, "upstream_timeout");
            return;
        }
        if (entry.Failure is not null)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status502BadGateway,
                "The upstream provider could not be reached to list models. Please retry.", OpenAIErrors.ServerError, "upstream_unavailable");
            return;
        }
        if (UpstreamRefusals.Applies(entry.Status))
        {
            await UpstreamRefusals.WriteAsync(context, entry.Status, entry.RetryAfter);
            return;
        }
        context.Response.StatusCode = entry.Status;
        context.Response.ContentType = entry.ContentType;
        context.Response.ContentLength = entry.Body.Length;
        await context.Response.Body.WriteAsync(entry.Body, context.RequestAborted);
    }
}
