using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.ClientIp;

/// <summary>The relay's first step: a client the allow and deny lists shut out gets 403 before its key is even read,
/// and nothing is counted.</summary>
internal sealed class ClientAccessMiddleware
{
    public const string Code = "ip_not_allowed";

    private readonly RequestDelegate _next;
    private readonly ClientAccess _access;
    private readonly AdmissionMetrics _metrics;

    public ClientAccessMiddleware(RequestDelegate next, ClientAccess access, AdmissionMetrics metrics)
    {
        _next = next;
        _access = access;
        _metrics = metrics;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var address = context.Features.GetRequiredFeature<SluiceRequestFeature>().Client.Address;
        if (_access.Allows(address))
        {
            return _next(context);
        }
        _metrics.Denied();
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
            $"Requests from your IP address ({address}) are not allowed on this gateway. If you think this is a mistake, ask its operator.",
            "request_forbidden", Code);
    }
}
