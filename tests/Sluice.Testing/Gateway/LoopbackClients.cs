using System.Net;
using System.Net.Sockets;

namespace Sluice.Testing.Gateway;

/// <summary>
/// HTTP clients whose connections come from a chosen loopback address (127.0.0.2, 127.0.0.3, …; all of 127/8 is
/// loopback on Linux), so one machine can play many clients with distinct IPs.
/// </summary>
public static class LoopbackClients
{
    public static IPAddress Address(int n) => new([127, 0, 0, (byte)n]);

    public static HttpClient From(IPAddress source, string baseUrl, TimeSpan? timeout = null)
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
        return new HttpClient(handler) { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }
}
