using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

// Sluice.Bench.Passthrough --urls http://127.0.0.1:PORT --upstream http://127.0.0.1:UPSTREAM_PORT
// Forwards every request unchanged (YARP's default transforms) to the upstream: no key check, no limiter, no
// body inspection, no per-request log. Kestrel and the host are configured as Sluice configures them.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = null;
});
builder.Services.AddHttpForwarder();

var upstream = builder.Configuration["upstream"];
if (string.IsNullOrEmpty(upstream) || !Uri.TryCreate(upstream, UriKind.Absolute, out _))
{
    Console.Error.WriteLine("usage: Sluice.Bench.Passthrough --urls http://127.0.0.1:PORT --upstream http://127.0.0.1:UPSTREAM_PORT");
    return 2;
}
var destinationPrefix = upstream.TrimEnd('/');

// Exactly the handler of src/Sluice.Gateway/Forwarding/UpstreamClient.cs with its default timeouts.
using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    EnableMultipleHttp2Connections = true,
    ConnectTimeout = TimeSpan.FromSeconds(10),
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
    ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
}, disposeHandler: true);
var requestConfig = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) };

var app = builder.Build();
var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
app.Run(async context =>
{
    var error = await forwarder.SendAsync(context, destinationPrefix, invoker, requestConfig, HttpTransformer.Default);
    if (error != ForwarderError.None && !context.Response.HasStarted)
    {
        context.Response.StatusCode = StatusCodes.Status502BadGateway;
    }
});

await app.StartAsync();
Console.WriteLine($"passthrough listening on {string.Join(", ", app.Urls)}, forwarding to {destinationPrefix}");
await app.WaitForShutdownAsync();
return 0;
