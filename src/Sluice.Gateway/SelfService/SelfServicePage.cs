using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Sluice.Gateway.SelfService;

/// <summary>
/// <c>GET /sluice</c>: a small page where users paste their key and see their limits, balance and today's usage
/// (it calls <c>/sluice/me</c> from the browser; the key never leaves the page but for that call). No external assets.
/// </summary>
public static class SelfServicePage
{
    private static readonly Lazy<byte[]> Html = new(() =>
    {
        using var stream = typeof(SelfServicePage).Assembly.GetManifestResourceStream("Sluice.Gateway.SelfService.Page.me.html")
            ?? throw new InvalidOperationException("The self-service page is missing from the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static IEndpointConventionBuilder MapSluiceSelfServicePage(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/sluice", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'";
            context.Response.Headers["Referrer-Policy"] = "no-referrer";
            return Results.Bytes(Html.Value, "text/html; charset=utf-8");
        });
}
