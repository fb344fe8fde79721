using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Testing.Gateway;

/// <summary>
/// HTTP clients whose connections come from a chosen loopback address (127.0.0.2, 127.0.0.3, …; all of 127/8 is
/// loopback on Linux), so one machine can play many clients with distinct IPs.
/// </summary>
public static class LoopbackClients
{
    public static IPAddress Address(int n) => new([127, 0, 0, (byte)n]);

    /// <summary>A client from <paramref name="source"/>. With <paramref name="trusted"/> (a gateway serving HTTPS with
    /// that certificate) it trusts that certificate alone and asks for HTTP/2, as browsers and SDKs do over TLS.</summary>
    public static HttpClient From(IPAddress source, string baseUrl, TimeSpan? timeout = null, X509Certificate2? trusted = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        HttpMessageHandler outer = handler;
        if (trusted is not null)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.Add(trusted);
            handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
            outer = new Http2Handler(handler);
        }
        return new HttpClient(outer) { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }

    /// <summary>Every request asks for HTTP/2 (HttpClient's default version applies only to requests it makes itself).</summary>
    private sealed class Http2Handler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
