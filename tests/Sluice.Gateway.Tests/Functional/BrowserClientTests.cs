using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// A chat front end in the browser (NextChat, LobeChat) calls Sluice directly from a page of another origin. A real
/// headless Chromium enforces CORS as users' browsers do: the preflight for <c>Authorization</c> and JSON, the stream
/// read chunk by chunk, and the headers a page may read only when they are exposed, on answers and refusals alike.
/// </summary>
public sealed class BrowserClientTests
{
    private const string Script = """
        const chat = (key, stream) => fetch(GATEWAY + '/v1/chat/completions', {
          method: 'POST',
          headers: { 'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', stream, stream_options: stream ? { include_usage: true } : undefined,
                                 messages: [{ role: 'user', content: 'Say hello' }] }),
        });
        async function run() {
          const r = {};
          const streamed = await chat(KEY, true);
          r.status = streamed.status;
          r.remaining = streamed.headers.get('x-ratelimit-remaining-requests');
          r.rateLimit = streamed.headers.get('ratelimit');
          r.requestId = streamed.headers.get('x-sluice-request-id');
          const reader = streamed.body.getReader();
          const decoder = new TextDecoder();
          let text = '';
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            text += decoder.decode(value, { stream: true });
          }
          const events = text.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6));
          r.events = events.length;
          r.last = events[events.length - 1];
          r.usage = JSON.parse(events[events.length - 2]).usage;
          r.words = events.slice(0, -1).map(e => JSON.parse(e).choices[0]?.delta?.content ?? '').join('');

          const refused = await chat(KEY, false);
          r.refusedStatus = refused.status;
          r.retryAfter = refused.headers.get('retry-after');
          r.retryAfterMs = refused.headers.get('retry-after-ms');
          r.shouldRetry = refused.headers.get('x-should-retry');
          r.refusedCode = (await refused.json()).error.code;

          const wrong = await chat('sk-wrongwrongwrongwrongwrongwrongwrongwrongwrongwrong', false);
          r.wrongStatus = wrong.status;
          r.wrongRequestId = wrong.headers.get('x-request-id');
          r.wrongCode = (await wrong.json()).error.code;
          return r;
        }
        // The page reports to its own origin, where the test waits for it.
        run().catch(e => ({ failed: String(e) }))
          .then(r => fetch('/result', { method: 'POST', body: JSON.stringify(r) }));
        """;

    [Fact]
    public async Task PageOfAnotherOrigin_StreamsAChat_ReadsTheLimitHeaders_AndReadsRefusals()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(1));
        var (keyId, key) = await relay.Gateway.CreateKeyAsync("browser");
        var html = $"""
            <!doctype html><html><body><script>
            const GATEWAY = {JsonSerializer.Serialize(relay.Gateway.BaseUrl.TrimEnd('/'))};
            const KEY = {JsonSerializer.Serialize(key)};
            {Script}
            </script></body></html>
            """;
        await using var page = await PageServer.StartAsync(html);
        Assert.NotEqual(new Uri(page.Url).Port, new Uri(relay.Gateway.BaseUrl).Port);

        var result = await Chromium.RunUntilAsync(page.Url, page.Result);

        Assert.False(result.TryGetProperty("failed", out var failed), failed.ToString());
        Assert.Equal(200, result.GetProperty("status").GetInt32());
        Assert.Equal("0", result.GetProperty("remaining").GetString());
        Assert.StartsWith("\"key\";r=0;t=", result.GetProperty("rateLimit").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("req_", result.GetProperty("requestId").GetString(), StringComparison.Ordinal);
        // Role, eight words, finish, usage, and the end: as the upstream sent it.
        Assert.Equal(12, result.GetProperty("events").GetInt32());
        Assert.Equal("[DONE]", result.GetProperty("last").GetString());
        Assert.Equal(8, result.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("words").GetString()));

        Assert.Equal(429, result.GetProperty("refusedStatus").GetInt32());
        Assert.Equal("rate_limit_exceeded", result.GetProperty("refusedCode").GetString());
        Assert.InRange(int.Parse(result.GetProperty("retryAfter").GetString()!, System.Globalization.CultureInfo.InvariantCulture), 86_000, 86_400);
        Assert.NotNull(result.GetProperty("retryAfterMs").GetString());
        Assert.Equal("false", result.GetProperty("shouldRetry").GetString());

        Assert.Equal(401, result.GetProperty("wrongStatus").GetInt32());
        Assert.Equal("invalid_api_key", result.GetProperty("wrongCode").GetString());
        Assert.StartsWith("req_", result.GetProperty("wrongRequestId").GetString(), StringComparison.Ordinal);

        Assert.Equal(1, relay.Upstream.RequestCount);
        Assert.Equal(1, await relay.UsedAsync(keyId));
    }

    /// <summary>Serves the chat front end's page from an origin of its own (another port on loopback), and takes
    /// the page's report of what it saw.</summary>
    private sealed class PageServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TaskCompletionSource<JsonElement> _result;

        private PageServer(WebApplication app, string url, TaskCompletionSource<JsonElement> result)
        {
            _app = app;
            Url = url;
            _result = result;
        }

        public string Url { get; }

        public Task<JsonElement> Result => _result.Task;

        public static async Task<PageServer> StartAsync(string html)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var result = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
            app.MapPost("/result", async (HttpRequest request) =>
            {
                using var document = await JsonDocument.ParseAsync(request.Body);
                result.TrySetResult(document.RootElement.Clone());
                return Results.NoContent();
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            return new PageServer(app, address + "/", result);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
