using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Sluice.Core.Storage;
using Sluice.Gateway.Admin;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Authentication;
using Sluice.Gateway.ClientIp;
using Sluice.Gateway.Forwarding;
using Sluice.Gateway.Inspection;
using Sluice.Gateway.Logging;
using Sluice.Gateway.Metering;
using Sluice.Gateway.Plans;
using Sluice.Gateway.SelfService;
using Sluice.Gateway.Billing;

namespace Sluice.Gateway.Hosting;

public static class SluiceApplicationBuilderExtensions
{
    /// <summary>
    /// The request flow: log → errors → client IP → CORS → (for <c>/v1/…</c>) client allowed → key → self-service → relayed endpoints
    /// only → models cache → body → plan rules
    /// (allowed model, prompt size) → admission (limits and caps) → prepaid hold → metering → forward; other paths
    /// go to the endpoints (health, metrics, admin).
    /// </summary>
    public static WebApplication UseSluiceGateway(this WebApplication app)
    {
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = UnhandledErrors.WriteAsync,
            // Logged with its stack trace: anything unexpected. Not: a request the client got wrong (a broken chunked
            // body; answered 4xx) and the database being down (answered 503 and logged as one warning line).
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException or StoreUnavailableException,
        });
        app.UseMiddleware<RequestSizeMiddleware>();
        app.UseMiddleware<ClientIpMiddleware>();
        // Only a browser's call carries Origin, and CORS has nothing to do without it; the CORS middleware resolves its
        // policy provider from a per-request service scope, which every other call is spared this way.
        app.UseWhen(static context => context.Request.Headers.ContainsKey(HeaderNames.Origin), cors => cors.UseCors());

        app.MapWhen(IsRelayPath, relay => relay
            .UseMiddleware<ClientAccessMiddleware>()
            .UseMiddleware<ApiKeyAuthenticationMiddleware>()
            .UseMiddleware<SelfServiceMiddleware>()
            .UseMiddleware<RelayEndpointMiddleware>()
            .UseMiddleware<ModelsMiddleware>()
            .UseMiddleware<RequestBodyMiddleware>()
            .UseMiddleware<ModelRulesMiddleware>()
            .UseMiddleware<AdmissionMiddleware>()
            .UseMiddleware<PrepaidHoldMiddleware>()
            .UseMiddleware<MeteringMiddleware>()
            .UseMiddleware<RelayForwarder>());

        // Off the relay path (which writes every error itself): unknown paths, wrong methods, unbindable queries.
        app.UseStatusCodePages(UnhandledErrors.WriteEmptyAsync);
        app.UseRouting();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync }).WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
        app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new HttpMethodMetadata([HttpMethods.Get]));
        app.MapSluiceAdmin();
        app.MapSluiceSelfServicePage();
        return app;
    }

    private static bool IsRelayPath(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) || SelfServiceMiddleware.IsSelfServicePath(context.Request.Path);
}
