using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>Calls go to the upstream unchanged but for the credentials, and come back unchanged but for account headers.</summary>
public sealed class ForwardingTests
{
    [Fact]
    public async Task ChatCompletion_ForwardedWithUpstreamKey_AnswerReturnedUnchanged()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions?trace=1")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("Cookie", "session=abc");
        request.Headers.Add("OpenAI-Beta", "assistants=v2");
        request.Headers.Add("OpenAI-Organization", "org-of-the-user");
        request.Headers.Add("OpenAI-Project", "proj_of_the_user");
        // Named in Connection: for this hop only, never forwarded (RFC 9110, 7.6.1).
        request.Headers.Connection.Add("X-Hop-Secret");
        request.Headers.Add("X-Hop-Secret", "for-the-gateway-only");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(relay.Upstream.Requests);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/v1/chat/completions?trace=1", seen.PathAndQuery);
        Assert.Equal(body, Encoding.UTF8.GetString(seen.Body));
        Assert.Equal("Bearer sk-upstream-secret", seen.Headers["Authorization"]);
        Assert.Equal(new Uri(relay.Upstream.BaseUrl).Authority, seen.Headers["Host"]);
        Assert.Equal("assistants=v2", seen.Headers["OpenAI-Beta"]);
        Assert.False(seen.Headers.ContainsKey("X-Forwarded-For"));
        Assert.False(seen.Headers.ContainsKey("Cookie"));
        Assert.False(seen.Headers.ContainsKey("OpenAI-Organization"));
        Assert.False(seen.Headers.ContainsKey("OpenAI-Project"));
        Assert.False(seen.Headers.ContainsKey("X-Hop-Secret"));
        Assert.DoesNotContain(key, string.Join("\n", seen.Headers.Values), StringComparison.Ordinal);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("chat.completion", json.RootElement.GetProperty("object").GetString());
        // The upstream's own request id is passed on (Sluice's is in its own header).
        Assert.NotEqual(response.Headers.GetValues("x-sluice-request-id").Single(), response.Headers.GetValues("x-request-id").Single());
        Assert.False(response.Headers.Contains("openai-organization"));
        Assert.False(response.Headers.Contains("Set-Cookie"));
        // The upstream's policies for its own host (it sends both): not this gateway's.
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        Assert.False(response.Headers.Contains("Alt-Svc"));
        Assert.True(response.Headers.Contains("cf-ray"));
        Assert.False(response.Headers.Contains("x-ratelimit-limit-tokens"));
        Assert.Equal("150", response.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("149", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task Embeddings_AndUpstreamErrors_PassThroughUnchanged()
    {
        // A plan without a model list, so that the upstream itself answers for an unknown model.
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(150));
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var embeddings = await client.PostAsJsonAsync("v1/embeddings", new { model = "text-embedding-3-small", input = new[] { "a b", "c" } });
        Assert.Equal(HttpStatusCode.OK, embeddings.StatusCode);
        using (var json = JsonDocument.Parse(await embeddings.Content.ReadAsStringAsync()))
        {
            Assert.Equal(2, json.RootElement.GetProperty("data").GetArrayLength());
        }

        using var missing = await client.PostAsJsonAsync("v1/chat/completions", new { model = "unknown-model", messages = new[] { new { role = "user", content = "x" } } });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model_not_found", (await RelayFixture.ErrorOf(missing)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamUnreachable_Is502_OpenAIShaped()
    {
        // A port that nothing listens on: bind, note it, release.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var fake = await FakeUpstream.FakeUpstreamServer.StartAsync(new FakeUpstream.FakeUpstreamOptions());
        await using var gateway = await Testing.Gateway.GatewayHost.StartAsync($"http://127.0.0.1:{port}");
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal("upstream_unavailable", error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(RelayFixture.Tls.None)]
    [InlineData(RelayFixture.Tls.Upstream)]
    public async Task UpstreamHangs_Is504_OpenAIShaped(RelayFixture.Tls tls)
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?> { ["Sluice:Upstream:Timeout"] = "00:00:01" }, tls: tls);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.Add("x-fake-failure", "hang");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        // A timed-out call is given back, and the headers say so already.
        Assert.Equal("150", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        // The ledger and the access log record the 504 the client got (not a 502: nothing of the answer was sent).
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal(504, row.Status);
        Assert.Equal(Core.Usage.UsageOutcome.UpstreamFailed, row.Outcome);
        // The usage report shows it as a failed call, apart from the ones that were answered.
        using (var admin = relay.Gateway.AdminClient())
        {
            using var report = JsonDocument.Parse(await admin.GetStringAsync("admin/usage?days=1"));
            Assert.Equal((1, 1), (report.RootElement.GetProperty("totals").GetProperty("requests").GetInt32(), report.RootElement.GetProperty("totals").GetProperty("failed").GetInt32()));
        }
        await relay.Gateway.StopAsync();
        Assert.Contains(relay.Gateway.AccessLogLines(), line => line.Contains(" status=504 ", StringComparison.Ordinal) && line.EndsWith("id=" + row.RequestId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task UpstreamStatusFailure_PassesThroughWithItsBody()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.Add("x-fake-failure", "status=503");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("server_error", (await RelayFixture.ErrorOf(response)).GetProperty("type").GetString());
    }

    /// <summary>
    /// An HTML error page from a proxy in front of the provider (nginx's 502, a 404 of a wrong base URL) is not
    /// something an OpenAI client can read: it becomes an OpenAI-shaped error of the same status. A failure is
    /// given back as any upstream failure is; the 404 counts, as the upstream's other 4xx do.
    /// </summary>
    [Theory]
    [InlineData(502, "server_error", 150)]
    [InlineData(404, "invalid_request_error", 149)]
    public async Task UpstreamHtmlErrorPage_BecomesAnOpenAIError_OfTheSameStatus(int status, string type, int remaining)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.Add("x-fake-failure", $"status={status},html");

        using var response = await client.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        Assert.Contains("text/html", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(remaining.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task Models_AnsweredFromUpstreamThenCache_AndNeverCounted()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(2));
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("v1/models");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        }
        Assert.Equal(1, relay.Upstream.RequestCount);
        using var one = await client.GetAsync("v1/models/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);

        // Both counted requests are still available.
        for (var i = 0; i < 2; i++)
        {
            using var chat = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
    }

    [Fact]
    public async Task Cors_PreflightAndExposedHeaders_LetBrowsersCall()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "v1/chat/completions");
        preflight.Headers.Add("Origin", "https://chat.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        using var answer = await client.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(0, relay.Upstream.RequestCount);

        using var call = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        call.Headers.Add("Origin", "https://chat.example");
        call.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(call);
        Assert.Contains("x-ratelimit-remaining-requests", response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The body Sluice has read goes upstream from memory with its length: a client's chunked upload arrives as one
    /// body with <c>Content-Length</c> (some providers' front ends refuse chunked requests), byte for byte, its type
    /// kept, without the client's <c>Expect: 100-continue</c>; a body larger than the connection's write buffer too.
    /// </summary>
    [Theory]
    [InlineData(100)]
    [InlineData(300_000)]
    public async Task ChunkedBody_GoesUpstreamWhole_WithItsLength(int padding)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        // The padding is in "user", which no token count reads, so that the free plan's prompt cap does not refuse it.
        var body = JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "Say hello" } }, user = new string('u', padding) });
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        // As curl sends for larger bodies: Sluice answers it itself; the upstream is not asked to wait for a body it gets at once.
        request.Headers.ExpectContinue = true;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(relay.Upstream.Requests);
        Assert.Equal(body, seen.BodyText);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("Content-Length"));
        Assert.Null(seen.Header("Transfer-Encoding"));
        Assert.Null(seen.Header("Expect"));
        Assert.Equal("application/json; charset=utf-8", seen.Header("Content-Type"));
    }

    [Fact]
    public async Task InvalidJson_Is400_AndCountsNothing()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(1));
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var bad = await client.PostAsync("v1/chat/completions", new StringContent("{\"model\":", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid_request_error", (await RelayFixture.ErrorOf(bad)).GetProperty("type").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        using var good = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task OversizedBody_Is413_AndCountsNothing()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?>(RelayFixture.FreePlan(1)) { ["Sluice:Relay:MaxRequestBodyBytes"] = "1000" });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var big = JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = new string('x', 2_000) } } });

        using var response = await client.PostAsync("v1/chat/completions", new StringContent(big, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await RelayFixture.ErrorOf(response);
        using var good = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }
}
