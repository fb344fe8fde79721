using System.Net;
using System.Net.Http.Json;
using System.Text;
using Sluice.Core.Usage;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// Requests a careless or hostile client sends: each gets a clear OpenAI-shaped answer, never a 500, never reaches
/// what the operator did not open, and nothing is counted for a call that was refused.
/// </summary>
public sealed class BadInputTests
{
    private static StringContent Body(string json, string? contentType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    /// <summary>
    /// A JSON body sent as a form (curl -d without -H, or multipart) to an endpoint that takes only JSON: refused as
    /// OpenAI refuses it (it reads no model), saying what to send. Before, it went through unread, past every plan
    /// rule and prepaid hold, and was metered with no model.
    /// </summary>
    [Theory]
    [InlineData("v1/chat/completions", "application/x-www-form-urlencoded")]
    [InlineData("v1/chat/completions", "multipart/form-data; boundary=x")]
    [InlineData("v1/embeddings", "application/x-www-form-urlencoded")]
    public async Task FormBody_WhereOnlyJsonIsTaken_Is400SayingSendJson_CountsNothing(string path, string contentType)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync(path, Body("""{"model":"gpt-4o","max_tokens":4000,"messages":[{"role":"user","content":"hi"}]}""", contentType));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString();
        Assert.StartsWith("you must provide a model parameter", message, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", message, StringComparison.Ordinal);
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    /// <summary>A compressed body can be neither checked nor sent on as the upstream expects: a clear 415.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CompressedBody_Is415_CountsNothing(bool reallyCompressed)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var json = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");
        var bytes = json;
        if (reallyCompressed)
        {
            using var compressed = new MemoryStream();
            using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(json);
            }
            bytes = compressed.ToArray();
        }
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        using var response = await client.PostAsync("v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("unsupported_content_encoding", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Fact]
    public async Task OverLongUrl_Is414OpenAIShaped_NotKestrelsEmptyAnswer_CountsNothing()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions?pad=" + new string('a', 9_000), RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal("url_too_long", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Fact]
    public async Task OverLargeHeaders_Are431OpenAIShaped_CountNothing()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.Add("X-Padding", new string('b', 40_000));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal("request_headers_too_large", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Theory]
    [InlineData("PUT", "/v1/chat/completions")]
    [InlineData("GET", "/v1/files")]
    [InlineData("DELETE", "/v1/files/file-abc")]
    [InlineData("POST", "/v1/fine_tuning/jobs")]
    [InlineData("GET", "/v1/organization/users")]
    [InlineData("POST", "/v1/chat/completions/extra")]
    [InlineData("POST", "/sluice/me")]
    public async Task EndpointNotRelayed_Is404InvalidUrl_NeverReachesTheUpstream_CountsNothing(string method, string path)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (method != "GET" && method != "DELETE")
        {
            request.Content = Body("""{"model":"gpt-4o-mini","messages":[]}""");
        }
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal($"Invalid URL ({method} {path})", error.GetProperty("message").GetString()!.Split(". ")[0]);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    [InlineData("application/vnd.api+json")]
    public async Task JsonBodyWithAnotherContentType_StillMeetsThePlanRules(string? contentType)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions",
            Body("""{"model":"claude-3-opus","messages":[{"role":"user","content":"Hi"}]}""", contentType));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("model_not_allowed", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o-mini","max_tokens":-1000,"messages":[]}""", "max_tokens", "invalid_value")]
    [InlineData("""{"model":"gpt-4o-mini","max_completion_tokens":0,"messages":[]}""", "max_completion_tokens", "invalid_value")]
    [InlineData("""{"model":"gpt-4o-mini","max_tokens":"100","messages":[]}""", "max_tokens", "invalid_type")]
    [InlineData("""{"model":"gpt-4o-mini","n":0,"messages":[]}""", "n", "invalid_value")]
    [InlineData("""{"model":"gpt-4o-mini","stream":true,"stream_options":"yes","messages":[]}""", "stream_options", "invalid_type")]
    [InlineData("""{"model":42,"messages":[]}""", "model", "invalid_type")]
    [InlineData("""{"model":"\ud800","messages":[]}""", "model", "invalid_value")]
    public async Task ValueOpenAIWouldRefuse_Is400NamingTheParameter_CountsNothing(string json, string param, string code)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", Body(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Fact]
    public async Task NoModel_OrNoBody_Is400AsOpenAISaysIt()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var noModel = await client.PostAsync("v1/chat/completions", Body("""{"messages":[{"role":"user","content":"Hi"}]}"""));
        using var noBody = await client.PostAsync("v1/chat/completions", Body(""));

        foreach (var response in new[] { noModel, noBody })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("you must provide a model parameter", (await RelayFixture.ErrorOf(response)).GetProperty("message").GetString());
        }
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    [Fact]
    public async Task HugeModelName_Is400_AndIsNeitherEchoedNorLogged()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var model = new string('m', 100_000);

        using var response = await client.PostAsync("v1/chat/completions", Body($$"""{"model":"{{model}}","messages":[]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(body.Length < 1_000, body[..Math.Min(200, body.Length)]);
        Assert.DoesNotContain(relay.Gateway.AccessLogLines(), line => line.Length > 1_000);
    }

    [Fact]
    public async Task StreamOptionsRewritten_OnABodyWithDuplicateMembersAndEscapes_IsRelayedAndMetered()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        const string json = """
            {"model":"gpt-4o-mini","stream":true,"stream_options":{"x":1},"user":"a","user":"b\ud83d\ude00",
             "stream_options":{"include_usage":false,"y":[1,{"z":null}]},"messages":[{"role":"user","content":"Hi"}]}
            """;

        using var response = await client.PostAsync("v1/chat/completions", Body(json));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("data: [DONE]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"usage\":{", text, StringComparison.Ordinal); // the client did not ask for usage
        var sent = relay.Upstream.Requests.Single().BodyText;
        Assert.Contains("\"user\":\"a\",\"user\":\"b\\ud83d\\ude00\"", sent, StringComparison.Ordinal); // as sent
        Assert.EndsWith("\"stream_options\":{\"y\":[1,{\"z\":null}],\"include_usage\":true}}", sent, StringComparison.Ordinal);
        Assert.Single(sent.Split("stream_options").Skip(1));
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal((UsageSource.Upstream, 200), (row.Source, row.Status));
        Assert.True(row.CompletionTokens > 0);
    }

    [Fact]
    public async Task UnreadableTextInAMessage_WithoutUpstreamUsage_IsStillMetered()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        client.DefaultRequestHeaders.Add("x-fake-usage", "none");

        using var response = await client.PostAsync("v1/chat/completions",
            Body("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","name":"\ud800"}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal(UsageSource.Tokenizer, row.Source);
        Assert.True(row.PromptTokens > 0 && row.CompletionTokens > 0);
    }

    [Fact]
    public async Task PrepaidHold_CoversEveryChoice()
    {
        var plans = new Dictionary<string, string?>(RelayFixture.FreePlan(150))
        {
            ["Sluice:Plans:paid:Limits:0:Requests"] = "1000",
            ["Sluice:Plans:paid:Billing"] = "Prepaid",
            ["Sluice:Plans:paid:Prices:gpt-4o-mini:Input"] = "1000",
            ["Sluice:Plans:paid:Prices:gpt-4o-mini:Output"] = "1000",
        };
        await using var relay = await RelayFixture.StartAsync(plans);
        var (id, key) = await relay.Gateway.CreateKeyAsync("payer", "paid");
        using var admin = relay.Gateway.AdminClient();
        using (await admin.PostAsJsonAsync($"admin/keys/{id}/credit", new { amount_usd = 0.05m }))
        {
        }
        using var client = relay.Gateway.ClientFrom(2, key);

        // 10 max tokens × 8 answers at $0.001 a token is $0.08 (plus the prompt): more than the $0.05 there is.
        using var response = await client.PostAsync("v1/chat/completions",
            Body("""{"model":"gpt-4o-mini","n":8,"max_tokens":10,"messages":[{"role":"user","content":"Say hello"}]}"""));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("insufficient_quota", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
    }
}
