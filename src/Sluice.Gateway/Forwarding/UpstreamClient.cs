using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Sluice.Gateway.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The one connection pool to the upstream, tuned for proxying as YARP's direct-forwarding guide advises:
/// no proxy, no redirects, no decompression, no cookies; several HTTP/2 connections when needed. An https:// upstream
/// gets HTTP/2 when it offers it (YARP asks for 2.0 or lower), HTTP/1.1 otherwise.
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
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = value.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        };
        if (!string.IsNullOrEmpty(value.CaCertificate))
        {
            handler.SslOptions = CertificateTrust.Options(CertificateTrust.Load(value.CaCertificate));
        }
        Invoker = new HttpMessageInvoker(new BufferedBodyHandler(handler), disposeHandler: true);
        RequestConfig = new ForwarderRequestConfig { ActivityTimeout = value.Timeout, Version = Version, VersionPolicy = VersionPolicy };
    }

    /// <summary>The HTTP version asked of the upstream, by forwarded calls and the model list alike (so they share its
    /// connections): 2.0 or lower, i.e. HTTP/2 where an https:// upstream offers it (YARP's own default).</summary>
    public static readonly Version Version = HttpVersion.Version20;

    public const HttpVersionPolicy VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;

    /// <summary>The upstream base URL without a trailing slash; request paths are appended to it.</summary>
    public string DestinationPrefix { get; }

    /// <summary>The Authorization value sent upstream, or null when no upstream key is configured.</summary>
    public string? Authorization { get; }

    public TimeSpan Timeout { get; }

    public HttpMessageInvoker Invoker { get; }

    public ForwarderRequestConfig RequestConfig { get; }

    public void Dispose() => Invoker.Dispose();
}
