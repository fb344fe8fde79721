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
        var body = Encoding.UTF8.GetBytes("""{"model":"m","stream":true}""");

        BufferedBodyHandler.Use(request, body);
        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.Equal("""{"model":"m","stream":true}""", inner.Body);
        Assert.Equal(body.Length, inner.ContentLength);
        Assert.Equal("application/json", inner.ContentType);
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

    [Fact]
    public async Task Content_IsInFlight_OnlyWhileTheConnectionReadsIt()
    {
        var content = new BufferedBodyContent("hello"u8.ToArray());
        var stream = new GatedStream();
        Assert.False(content.InFlight);

        var copy = content.CopyToAsync(stream);
        await stream.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(content.InFlight);
        stream.Release.SetResult();
        await copy.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(content.InFlight);
        Assert.Equal("hello", Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Equal(5, content.Headers.ContentLength);
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public string? Body { get; private set; }

        public long? ContentLength { get; private set; }

        public string? ContentType { get; private set; }

        public HttpContent? Content { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Content = request.Content;
            Body = await request.Content!.ReadAsStringAsync(cancellationToken);
            ContentLength = request.Content.Headers.ContentLength;
            ContentType = request.Content.Headers.ContentType?.ToString();
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    /// <summary>A stream whose first write waits until released, as a connection waiting for flow control would.</summary>
    private sealed class GatedStream : MemoryStream
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task;
            await base.WriteAsync(buffer, cancellationToken);
        }
    }
}
