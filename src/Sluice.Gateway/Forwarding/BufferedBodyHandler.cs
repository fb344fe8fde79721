namespace Sluice.Gateway.Forwarding;

/// <summary>
/// Sends a body Sluice has already read (every JSON body: the inspection step reads it whole) from memory, in the
/// same write as the request's headers. YARP's own request content streams the client's body, and flushes the
/// headers on their own first so that a slow client's body cannot hold them back; for a body that is already here
/// that costs one more send to the upstream per call, and the copy loop. The transformer makes the content
/// (<see cref="Use"/>), this handler puts it in place of YARP's (YARP allows no other content before it sends).
/// </summary>
/// <remarks>
/// The bytes are the inspection step's pooled buffer, given back when the call is over. The content is a
/// <see cref="ReadOnlyMemoryContent"/>, which is not duplex: <c>SocketsHttpHandler</c> finishes (or abandons) sending
/// it before it hands back the response, on HTTP/1.1 and HTTP/2 alike, so nothing reads the buffer after forwarding
/// returns, and the call's timeout covers the send.
/// </remarks>
internal sealed class BufferedBodyHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<ReadOnlyMemoryContent> Key = new("Sluice.BufferedBody");

    public BufferedBodyHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>
    /// Has <paramref name="request"/> sent with <paramref name="body"/>, with the content headers YARP copied from the
    /// client's request (the length is the body's own). A client's <c>Expect: 100-continue</c> is not passed on: it
    /// asks the upstream to wait before a body is sent, and this one is here already.
    /// </summary>
    public static void Use(HttpRequestMessage request, ReadOnlyMemory<byte> body)
    {
        var content = new ReadOnlyMemoryContent(body);
        if (request.Content is { } streamed)
        {
            foreach (var header in streamed.Headers.NonValidated)
            {
                if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
        }
        request.Headers.Remove("Expect");
        request.Options.Set(Key, content);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is not null && request.Options.TryGetValue(Key, out var content))
        {
            request.Content = content;
        }
        return base.SendAsync(request, cancellationToken);
    }
}
