using System.Net;
using System.Text;
using Sluice.Gateway.Forwarding;

namespace Sluice.Gateway.Tests.Forwarding;

/// <summary>The read body goes upstream from memory in place of YARP's streamed content.</summary>
public sealed class BufferedBodyTests
{
    [Fact]
    public async Task Handler_SendsTheBody_WithTheClientsContentHeaders_AndItsOwnLength()
    {
        var inner = new CapturingHandler();
        using var invoker = new HttpMessageInvoker(new BufferedBodyHandler(inner));
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/chat/completions")
        {
            Content = new StreamContent(new MemoryStream()),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        // What the client declared; the body forwarded (rewritten by metering) is longer.
        request.Content.Headers.ContentLength = 2;
        request.Headers.ExpectContinue = true;
        var body = Encoding.UTF8.GetBytes("""{"model":"m","stream":true}""");

        BufferedBodyHandler.Use(request, body);
        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.Equal("""{"model":"m","stream":true}""", inner.Body);
        Assert.Equal(body.Length, inner.ContentLength);
        Assert.Equal("application/json", inner.ContentType);
        // The body is here: nothing to wait for.
        Assert.False(inner.Headers!.Contains("Expect"));
    }

    [Fact]
    public async Task Handler_LeavesARequestWithoutABufferedBody_AsItIs()
    {
        var inner = new CapturingHandler();
        using var invoker = new HttpMessageInvoker(new BufferedBodyHandler(inner));
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/audio/transcriptions")
        {
            Content = new StringContent("form", Encoding.UTF8, "multipart/form-data"),
        };

        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.Equal("form", inner.Body);
        Assert.IsType<StringContent>(inner.Content);
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public string? Body { get; private set; }

        public long? ContentLength { get; private set; }

        public string? ContentType { get; private set; }

        public HttpContent? Content { get; private set; }

        public System.Net.Http.Headers.HttpRequestHeaders? Headers { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Content = request.Content;
            Headers = request.Headers;
            Body = await request.Content!.ReadAsStringAsync(cancellationToken);
            ContentLength = request.Content.Headers.ContentLength;
            ContentType = request.Content.Headers.ContentType?.ToString();
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
