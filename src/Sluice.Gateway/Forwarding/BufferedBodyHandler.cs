using System.Net;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// Sends a body Sluice has already read (every JSON body: the inspection step reads it whole) from memory, in the
/// same write as the request's headers. YARP's own request content streams the client's body, and flushes the
/// headers on their own first so that a slow client's body cannot hold them back; for a body that is already here
/// that costs one more send to the upstream per call, and the copy loop. The transformer makes the content
/// (<see cref="Use"/>), this handler puts it in place of YARP's (YARP allows no other content before it sends).
/// </summary>
internal sealed class BufferedBodyHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<BufferedBodyContent> Key = new("Sluice.BufferedBody");

    public BufferedBodyHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>The content <paramref name="request"/> is to be sent with: <paramref name="body"/>, with the content
    /// headers YARP copied from the client's request (the length is the body's own).</summary>
    public static BufferedBodyContent Use(HttpRequestMessage request, ReadOnlyMemory<byte> body)
    {
        var content = new BufferedBodyContent(body);
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
        request.Options.Set(Key, content);
        return content;
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

/// <summary>
/// A body in memory that Sluice does not own: the inspection step's pooled buffer. <see cref="InFlight"/> says whether
/// the connection may still be reading it (an HTTP/2 upstream can answer before the whole body is sent, and the send
/// then ends in the background); the buffer is not reused while it is.
/// </summary>
internal sealed class BufferedBodyContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _body;
    private int _sending;

    public BufferedBodyContent(ReadOnlyMemory<byte> body)
    {
        _body = body;
    }

    public bool InFlight => Volatile.Read(ref _sending) != 0;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sending);
        try
        {
            await stream.WriteAsync(_body, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _sending);
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sending);
        try
        {
            stream.Write(_body.Span);
        }
        finally
        {
            Interlocked.Decrement(ref _sending);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }
}
