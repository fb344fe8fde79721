using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Admin;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Authentication;
using Sluice.Gateway.ClientIp;
using Sluice.Gateway.Forwarding;
using Sluice.Gateway.Inspection;
using Sluice.Gateway.Logging;

namespace Sluice.Gateway.Hosting;

public static class SluiceApplicationBuilderExtensions
{
    /// <summary>
    /// The request flow: log → errors → client IP → CORS → (for <c>/v1/…</c>) key → models cache → body → admission →
    /// forward; other paths go to the endpoints (health, admin).
    /// </summary>
    public static WebApplication UseSluiceGateway(this WebApplication app)
    {
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = UnhandledErrors.WriteAsync });
        app.UseMiddleware<ClientIpMiddleware>();
        app.UseCors();

        app.MapWhen(IsRelayPath, relay => relay
            .UseMiddleware<ApiKeyAuthenticationMiddleware>()
            .UseMiddleware<ModelsMiddleware>()
            .UseMiddleware<RequestBodyMiddleware>()
            .UseMiddleware<AdmissionMiddleware>()
            .UseMiddleware<RelayForwarder>());

        app.UseRouting();
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapSluiceAdmin();
        return app;
    }

    private static bool IsRelayPath(HttpContext context) => context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal);
}
