using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The one connection pool to the upstream, tuned for proxying as YARP's direct-forwarding guide advises:
/// no proxy, no redirects, no decompression, no cookies; several HTTP/2 connections when needed.
/// </summary>
public sealed class UpstreamClient : IDisposable
{
    public UpstreamClient(IOptions<UpstreamOptions> options)
    {
        var value = options.Value;
        var baseUrl = value.BaseUrl.TrimEnd('/');
        DestinationPrefix = baseUrl;
        Authorization = string.IsNullOrEmpty(value.ApiKey) ? null : "Bearer " + value.ApiKey;
        Timeout = value.Timeout;
        Invoker = new HttpMessageInvoker(new BufferedBodyHandler(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = value.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        }), disposeHandler: true);
        RequestConfig = new ForwarderRequestConfig { ActivityTimeout = value.Timeout };
    }

    /// <summary>The upstream base URL without a trailing slash; request paths are appended to it.</summary>
    public string DestinationPrefix { get; }

    /// <summary>The Authorization value sent upstream, or null when no upstream key is configured.</summary>
    public string? Authorization { get; }

    public TimeSpan Timeout { get; }

    public HttpMessageInvoker Invoker { get; }

    public ForwarderRequestConfig RequestConfig { get; }

    public void Dispose() => Invoker.Dispose();
}
