using System.Net;
using System.Text.Json;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>Server-sent events pass through as the upstream sends them, and a client that leaves cancels the upstream call:
/// over plain HTTP/1.1, over HTTPS with HTTP/2 to the upstream, as to api.openai.com (<see cref="UpstreamTlsTests"/>), and
/// with the client's own call over HTTPS and HTTP/2 too (the gateway serving TLS itself).</summary>
public sealed class StreamingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(RelayFixture.Tls.None)]
    [InlineData(RelayFixture.Tls.Upstream)]
    [InlineData(RelayFixture.Tls.Both)]
    public async Task Stream_EachChunkReachesTheClientBeforeTheUpstreamSendsTheNext(RelayFixture.Tls tls)
    {
        await using var relay = await RelayFixture.StartAsync(upstream: new FakeUpstream.FakeUpstreamOptions { ExpectedApiKey = "sk-upstream-secret", ReplyWords = 5 }, tls: tls);
        var (keyId, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        // The upstream sends chunk n only after the client has received chunk n-1: a buffering relay would stall here.
        using var received = new SemaphoreSlim(0);
        relay.Upstream.BeforeChunk = async (index, cancellationToken) =>
        {
            if (index > 0)
            {
                await received.WaitAsync(cancellationToken);
            }
        };
        // The client asks for the usage chunk itself, so every event the upstream sends reaches it (none is held back).
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat(stream: true, includeUsage: true) };

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(tls == RelayFixture.Tls.Both ? HttpVersion.Version20 : HttpVersion.Version11, response.Version);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("149", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Contains("\"key\";r=149", response.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var words = new List<string>();
        while (true)
        {
            var data = await ReadEventAsync(reader).WaitAsync(Patience);
            if (data is null or "[DONE]")
            {
                break;
            }
            using var chunk = JsonDocument.Parse(data);
            Assert.Equal("chat.completion.chunk", chunk.RootElement.GetProperty("object").GetString());
            var choices = chunk.RootElement.GetProperty("choices");
            if (choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var content) && content.GetString() is { Length: > 0 } text)
            {
                words.Add(text);
            }
            received.Release();
        }
        Assert.Equal(5, words.Count);
        Assert.Equal(tls == RelayFixture.Tls.None ? "HTTP/1.1" : "HTTP/2", Assert.Single(relay.Upstream.Requests).Protocol);
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal((keyId, 5L, true), (row.KeyId, row.CompletionTokens, row.Streamed));
    }

    [Theory]
    [InlineData(RelayFixture.Tls.None)]
    [InlineData(RelayFixture.Tls.Upstream)]
    [InlineData(RelayFixture.Tls.Both)]
    public async Task Stream_ClientLeavesMidway_UpstreamCallIsCancelled(RelayFixture.Tls tls)
    {
        await using var relay = await RelayFixture.StartAsync(tls: tls);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        relay.Upstream.BeforeChunk = (index, cancellationToken) => index < 2 ? Task.CompletedTask : Task.Delay(Timeout.Infinite, cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat(stream: true) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.NotNull(await ReadEventAsync(reader).WaitAsync(Patience));

        reader.Dispose();
        response.Dispose();
        client.Dispose();

        await relay.Upstream.WhenCanceledAsync(1, Patience);
        Assert.Equal(1, relay.Upstream.CanceledCount);
        Assert.Equal(tls == RelayFixture.Tls.None ? "HTTP/1.1" : "HTTP/2", Assert.Single(relay.Upstream.Requests).Protocol);
    }

    [Theory]
    [InlineData(RelayFixture.Tls.None)]
    [InlineData(RelayFixture.Tls.Upstream)]
    [InlineData(RelayFixture.Tls.Both)]
    public async Task Stream_UpstreamCutsMidway_ClientSeesTheStreamBreak(RelayFixture.Tls tls)
    {
        await using var relay = await RelayFixture.StartAsync(tls: tls);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        // Each event is released only once the client has the previous one, so the cut comes after the client has
        // received three events: the answer has started, and the break must reach the client as a break.
        using var received = new SemaphoreSlim(0);
        relay.Upstream.BeforeChunk = async (index, cancellationToken) =>
        {
            if (index > 0)
            {
                await received.WaitAsync(cancellationToken);
            }
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat(stream: true) };
        request.Headers.Add("x-fake-failure", "cut-after=3");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var events = 0;
        var broke = false;
        try
        {
            while (await ReadEventAsync(reader).WaitAsync(Patience) is { } data)
            {
                Assert.NotEqual("[DONE]", data);
                events++;
                received.Release();
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            broke = true;
        }
        Assert.True(broke, $"the client should see the stream end abnormally, not as a complete answer (got {events} events)");
        // The third event and the reset leave the upstream back to back; a TCP reset may discard that last event.
        Assert.InRange(events, 2, 3);
    }

    /// <summary>The data of the next server-sent event, or null at the end of the stream.</summary>
    internal static async Task<string?> ReadEventAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line["data: ".Length..];
            }
        }
        return null;
    }
}
