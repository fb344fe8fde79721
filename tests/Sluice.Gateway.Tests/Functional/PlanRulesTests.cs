using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>The default plan (the public free service) as a user meets it: allowed models, per-model daily caps
/// reset at midnight Beijing time, the prompt cap. Refusals are OpenAI-shaped, each with its own code, and consume nothing.</summary>
public sealed class PlanRulesTests
{
    private static StringContent ChatWith(string model, string content = "Say hello") =>
        new(JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content } } }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task DefaultPlan_Gpt4oRefusedAfterFiveCalls_WhileGpt4oMiniStillWorks()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        for (var i = 0; i < 5; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal((4 - i).ToString(CultureInfo.InvariantCulture), ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var refused = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-2024-08-06"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("model_cap_exceeded", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("all 5 requests of the 'gpt-4o' models", message, StringComparison.Ordinal);
        Assert.Contains("00:00 Asia/Shanghai", message, StringComparison.Ordinal);
        Assert.Contains("Other models of your plan still work", message, StringComparison.Ordinal);
        Assert.Equal("5", refused.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("0", refused.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Contains("\"gpt-4o\";q=5;w=86400", refused.Headers.GetValues("RateLimit-Policy").Single(), StringComparison.Ordinal);
        Assert.True(refused.Headers.Contains("Retry-After"));
        Assert.Equal(5, relay.Upstream.RequestCount);

        using var mini = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-mini"));
        Assert.Equal(HttpStatusCode.OK, mini.StatusCode);
        // The refused call took nothing from the joint limit: 6 counted calls, 144 left.
        Assert.Contains("\"key\";r=144", mini.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultPlan_CapsCountChatAndEmbeddingsSeparately()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var embedding = await client.PostAsync("v1/embeddings",
            new StringContent("""{"model":"text-embedding-3-small","input":"hello"}""", Encoding.UTF8, "application/json"));
        using var chat = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-mini"));

        Assert.Contains("\"embeddings\";r=199", embedding.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
        Assert.Contains("\"mini\";r=199", chat.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelNotOnThePlan_Is403_AndConsumesNothing()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var refused = await client.PostAsync("v1/chat/completions", ChatWith("claude-3-opus"));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("model_not_allowed", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("gpt-4o-*", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, relay.Upstream.RequestCount);
        using var ok = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-mini"));
        Assert.Contains("\"key\";r=149", ok.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromptOverThePlansCap_Is400SayingSo_AndConsumesNothing()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var longPrompt = string.Join(' ', Enumerable.Repeat("word", 5_000));

        using var refused = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-mini", longPrompt));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("prompt_too_long", error.GetProperty("code").GetString());
        Assert.Contains("more than 4096 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("at most 4096", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);

        // Just under the cap passes (4,000 words + framing ≤ 4,096 tokens).
        using var ok = await client.PostAsync("v1/chat/completions", ChatWith("gpt-4o-mini", string.Join(' ', Enumerable.Repeat("word", 4_000))));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("\"key\";r=149", ok.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }

    /// <summary>
    /// What the model reads besides the messages counts towards the cap too: tool definitions and a response format
    /// (before, a prompt hidden in a tool's description passed any cap). The refusal names the endpoint's own field.
    /// </summary>
    [Theory]
    [InlineData("v1/chat/completions", """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","description":"LONG"}}]}""", "messages")]
    [InlineData("v1/chat/completions", """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","description":"LONG","schema":{}}}}""", "messages")]
    [InlineData("v1/responses", """{"model":"gpt-4o-mini","input":"hi","instructions":"LONG"}""", "input")]
    [InlineData("v1/embeddings", """{"model":"text-embedding-3-small","input":"LONG"}""", "input")]
    [InlineData("v1/completions", """{"model":"gpt-3.5-turbo-instruct","prompt":"LONG"}""", "prompt")]
    public async Task PromptOverTheCap_InToolsResponseFormatOrOtherEndpoints_Is400NamingTheField(string path, string body, string param)
    {
        var plan = new Dictionary<string, string?>(RelayFixture.FreePlan(150)) { ["Sluice:Plans:free:MaxPromptTokens"] = "4096" };
        await using var relay = await RelayFixture.StartAsync(plan);
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var refused = await client.PostAsync(path, new StringContent(body.Replace("LONG", string.Join(' ', Enumerable.Repeat("word", 6_000)), StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("prompt_too_long", error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    /// <summary>
    /// Moderation calls work on the default plan, with or without a model (OpenAI's default, omni-moderation-latest,
    /// is what the plan's rules and the ledger see); before, the plan's model list refused both.
    /// </summary>
    [Theory]
    [InlineData("""{"input":"hello"}""")]
    [InlineData("""{"model":"omni-moderation-latest","input":["hello","world"]}""")]
    public async Task Moderations_WorkOnTheDefaultPlan_WithOrWithoutAModel(string body)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/moderations", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(json.RootElement.GetProperty("results")[0].GetProperty("flagged").GetBoolean());
        Assert.Equal("omni-moderation-latest", (await MeteringTests.LedgerRow(relay, response)).Model);
    }

    [Fact]
    public async Task ModelCap_ResetsAtMidnightBeijingTime_NotBefore()
    {
        // 23:00 in Beijing on 29 November.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 15, 0, 0, TimeSpan.Zero));
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, services: s => s.AddSingleton<TimeProvider>(time));
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        for (var i = 0; i < 5; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", ChatWith("gpt-5"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        time.SetUtcNow(new DateTimeOffset(2026, 11, 29, 15, 59, 59, 999, TimeSpan.Zero));
        using (var refused = await client.PostAsync("v1/chat/completions", ChatWith("gpt-5")))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            Assert.Contains("(at 2026-11-29T16:00:00Z)", (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        time.Advance(TimeSpan.FromMilliseconds(1)); // 00:00 on 30 November in Beijing
        using var nextDay = await client.PostAsync("v1/chat/completions", ChatWith("gpt-5"));
        Assert.Equal(HttpStatusCode.OK, nextDay.StatusCode);
        Assert.Contains("\"gpt-5\";r=4", nextDay.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }
}
