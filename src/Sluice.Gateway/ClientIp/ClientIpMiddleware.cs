using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.ClientIp;

/// <summary>Resolves the client address once per request and records it on the request feature.</summary>
internal sealed class ClientIpMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ClientIpResolver _resolver;

    public ClientIpMiddleware(RequestDelegate next, ClientIpResolver resolver)
    {
        _next = next;
        _resolver = resolver;
    }

    public Task InvokeAsync(HttpContext context)
    {
        context.Features.GetRequiredFeature<SluiceRequestFeature>().Client = _resolver.Resolve(context);
        return _next(context);
    }
}
