using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Inspection;

/// <summary>
/// Lets through only the endpoints the operator relays (<see cref="RelayEndpoints"/>); any other method or path gets
/// OpenAI's own 404 "Invalid URL (METHOD /path)", without reaching the upstream (and the operator's account) and
/// without being counted.
/// </summary>
internal sealed class RelayEndpointMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RelayEndpoints _endpoints;

    public RelayEndpointMiddleware(RequestDelegate next, RelayEndpoints endpoints)
    {
        _next = next;
        _endpoints = endpoints;
    }

    public Task InvokeAsync(HttpContext context) =>
        _endpoints.Allows(context.Request.Method, context.Request.Path)
            ? _next(context)
            : OpenAIErrors.WriteAsync(context, StatusCodes.Status404NotFound,
                $"Invalid URL ({context.Request.Method} {context.Request.Path}). This server relays: {_endpoints}.",
                OpenAIErrors.InvalidRequest, null);
}
