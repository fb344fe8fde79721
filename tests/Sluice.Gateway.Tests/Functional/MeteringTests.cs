using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Core.Usage;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// Every call's tokens and cost land in the ledger exactly once: from the upstream's usage when it gives one
/// (streams included, where Sluice asks for it and hides it again), counted with the tokenizer when it does not,
/// for what was sent when the client leaves, and nothing when the upstream fails.
/// The fake upstream counts one token per word: "Say hello" is 3 + (4 + 2) = 9 prompt tokens; replies are 8 words.
/// </summary>
public sealed class MeteringTests
{
    private static readonly TokenCounter Tokens = new();

    // gpt-4o-mini: $0.15 per million prompt tokens, $0.60 per million completion tokens: in nanodollars per token, 150 and 600.
    private const long MiniPromptNano = 150;
    private const long MiniCompletionNano = 600;

    internal static async Task<UsageRecord> LedgerRow(RelayFixture relay, HttpResponseMessage response)
    {
        var id = response.Headers.GetValues("x-sluice-request-id").Single();
        return await LedgerRow(relay, id);
    }

    /// <summary>The call's ledger row. The row is handed to the writer when the call is over on the server, which
    /// may be a moment after the client has the whole answer, so this waits for it (at most 10 s).</summary>
    internal static async Task<UsageRecord> LedgerRow(RelayFixture relay, string requestId)
    {
        var services = relay.Gateway.Services;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await services.GetRequiredService<LedgerWriter>().FlushAsync(TimeSpan.FromSeconds(10));
            var record = await services.GetRequiredService<IUsageLedger>().FindAsync(requestId, CancellationToken.None);
            if (record is not null)
            {
                return record;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no ledger row for {requestId} within 10 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Json_UpstreamUsage_IsTheLedgerRow_WithItsExactCost()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        var row = await LedgerRow(relay, response);
        Assert.Equal((id, "127.0.0.2", "gpt-4o-mini", "/v1/chat/completions", 200), (row.KeyId, row.ClientIp, row.Model, row.Endpoint, row.Status));
        Assert.Equal((9L, 0L, 8L), (row.PromptTokens, row.CachedTokens, row.CompletionTokens));
        Assert.Equal((9 * MiniPromptNano) + (8 * MiniCompletionNano), row.Cost.Nanodollars);
        Assert.Equal((UsageSource.Upstream, UsageOutcome.Completed, false), (row.Source, row.Outcome, row.Streamed));
        Assert.True(row.LatencyMs >= 0);
    }

    [Fact]
    public async Task Json_ClientAcceptsGzip_UpstreamAnswersPlain_UsageStillMetered()
    {
        // SDKs send Accept-Encoding (httpx: "gzip, deflate"); an upstream that compresses (as OpenAI and the fake do)
        // would hide the usage from the metering. Sluice asks for the plain answer and passes that on.
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(8, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("identity", Assert.Single(relay.Upstream.Requests).Header("Accept-Encoding"));
        var row = await LedgerRow(relay, response);
        Assert.Equal((9L, 8L, UsageSource.Upstream), (row.PromptTokens, row.CompletionTokens, row.Source));
    }

    [Fact]
    public async Task Json_UpstreamCompressesAnyway_PassedOnUnchanged_CountedWithTheTokenizer()
    {
        await using var relay = await RelayFixture.StartAsync(upstream: new FakeUpstream.FakeUpstreamOptions { ExpectedApiKey = "sk-upstream-secret", CompressAlways = true });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        await using (var plain = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress))
        {
            using var json = await JsonDocument.ParseAsync(plain);
            Assert.Equal("chat.completion", json.RootElement.GetProperty("object").GetString());
        }
        // The compressed answer is not read: the prompt is counted with the tokenizer, the answer's text is not known.
        var row = await LedgerRow(relay, response);
        Assert.Equal((9L, 0L, UsageSource.Tokenizer, UsageOutcome.Completed), (row.PromptTokens, row.CompletionTokens, row.Source, row.Outcome));
    }

    [Fact]
    public async Task Json_NoUpstreamUsage_CountedWithTheTokenizer()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-fake-usage", "none");

        using var response = await client.SendAsync(request);

        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(answer.RootElement.TryGetProperty("usage", out _));
        var text = answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        var row = await LedgerRow(relay, response);
        Assert.Equal(UsageSource.Tokenizer, row.Source);
        Assert.Equal(Tokens.CountPrompt("gpt-4o-mini", "/v1/chat/completions", Encoding.UTF8.GetBytes(body)), row.PromptTokens);
        Assert.Equal(9, row.PromptTokens); // "Say hello" is 2 tokens, "user" 1, 3 per message, 3 for the reply
        Assert.Equal(Tokens.CountText("gpt-4o-mini", text), row.CompletionTokens);
        Assert.Equal((row.PromptTokens * MiniPromptNano) + (row.CompletionTokens * MiniCompletionNano), row.Cost.Nanodollars);
    }

    [Fact]
    public async Task Stream_ClientAskedForUsage_GetsTheUsageChunk_LedgerHasIt()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat(stream: true, includeUsage: true));
        var events = await ReadEvents(response);

        Assert.Contains(events, e => e.Contains("\"usage\":{", StringComparison.Ordinal));
        Assert.Equal("[DONE]", events[^1]);
        var row = await LedgerRow(relay, response);
        Assert.Equal((9L, 8L, true, UsageSource.Upstream), (row.PromptTokens, row.CompletionTokens, row.Streamed, row.Source));
    }

    [Fact]
    public async Task Stream_ClientDidNotAsk_SluiceAsksUpstream_AndTheClientSeesNoUsageAtAll()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat(stream: true));
        var events = await ReadEvents(response);

        using (var forwarded = JsonDocument.Parse(relay.Upstream.Requests.Single().Body))
        {
            Assert.True(forwarded.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        }
        Assert.DoesNotContain(events, e => e.Contains("usage", StringComparison.Ordinal));
        Assert.Equal(1 + 8 + 1 + 1, events.Count); // role, 8 words, finish, [DONE]
        var row = await LedgerRow(relay, response);
        Assert.Equal((9L, 8L, UsageSource.Upstream), (row.PromptTokens, row.CompletionTokens, row.Source));
    }

    [Fact]
    public async Task Stream_UpstreamGivesNoUsage_CountedWithTheTokenizer()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat(stream: true) };
        request.Headers.Add("x-fake-usage", "none");

        using var response = await client.SendAsync(request);
        var events = await ReadEvents(response);

        var text = string.Concat(events.Where(e => e.StartsWith('{')).Select(Delta));
        var row = await LedgerRow(relay, response);
        Assert.Equal(UsageSource.Tokenizer, row.Source);
        Assert.Equal(9, row.PromptTokens);
        Assert.Equal(Tokens.CountText("gpt-4o-mini", text), row.CompletionTokens);
        Assert.True(row.CompletionTokens >= 8);
    }

    [Fact]
    public async Task Stream_ClientLeavesMidway_BilledForThePromptAndWhatWasSent()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        // Role chunk and two words go out; then the upstream waits until the client has gone.
        relay.Upstream.BeforeChunk = (index, cancellationToken) => index < 3 ? Task.CompletedTask : Task.Delay(Timeout.Infinite, cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat(stream: true) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var requestId = response.Headers.GetValues("x-sluice-request-id").Single();
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var received = new StringBuilder();
        for (var i = 0; i < 3; i++)
        {
            received.Append(Delta((await StreamingTests.ReadEventAsync(reader).WaitAsync(TimeSpan.FromSeconds(15)))!));
        }

        reader.Dispose();
        response.Dispose();
        client.Dispose();
        await relay.Upstream.WhenCanceledAsync(1, TimeSpan.FromSeconds(15));

        var row = await LedgerRow(relay, requestId);
        Assert.Equal((UsageOutcome.ClientAborted, 499, UsageSource.Tokenizer), (row.Outcome, row.Status, row.Source));
        Assert.Equal(9, row.PromptTokens);
        Assert.Equal(Tokens.CountText("gpt-4o-mini", received.ToString()), row.CompletionTokens);
        Assert.Equal(2, row.CompletionTokens); // "Hello from"
        Assert.Equal((9 * MiniPromptNano) + (2 * MiniCompletionNano), row.Cost.Nanodollars);
    }

    [Fact]
    public async Task UpstreamFails_CostsNothing_AndTheRequestIsGivenBack()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(2));
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var failing = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        failing.Headers.Add("x-fake-failure", "status=503");

        using var failed = await client.SendAsync(failing);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        // The headers already count the call as given back: both requests of the plan are still there.
        Assert.Equal("2", failed.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("\"key\";r=2;t=0, \"ip\";r=2;t=0", failed.Headers.GetValues("RateLimit").Single());
        var row = await LedgerRow(relay, failed);
        Assert.Equal((UsageOutcome.UpstreamFailed, 0L, 0L), (row.Outcome, row.Cost.Nanodollars, row.PromptTokens));
        for (var i = 0; i < 2; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var third = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
    }

    [Fact]
    public async Task UpstreamTimesOut_IsGivenBackToo()
    {
        var settings = new Dictionary<string, string?>(RelayFixture.FreePlan(1)) { ["Sluice:Upstream:Timeout"] = "00:00:01" };
        await using var relay = await RelayFixture.StartAsync(settings);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using var hanging = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        hanging.Headers.Add("x-fake-failure", "hang");

        using var timedOut = await client.SendAsync(hanging);

        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.Equal("1", timedOut.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("0", ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task Ledger_GracefulStopRightAfterCalls_LosesNoRow()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?> { ["Sluice:Metering:FlushInterval"] = "00:00:05" });
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using (var client = relay.Gateway.ClientFrom(2, key))
        {
            for (var i = 0; i < 20; i++)
            {
                using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }
        }

        await relay.Gateway.RestartAsync();

        var rows = await relay.Gateway.Services.GetRequiredService<IUsageLedger>().SummarizeAsync(id, DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue.AddDays(-1), CancellationToken.None);
        Assert.Equal(20, Assert.Single(rows).Requests);
    }

    private static async Task<List<string>> ReadEvents(HttpResponseMessage response)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        while (await StreamingTests.ReadEventAsync(reader) is { } data)
        {
            events.Add(data);
        }
        return events;
    }

    private static string Delta(string chunk)
    {
        using var json = JsonDocument.Parse(chunk);
        var choices = json.RootElement.GetProperty("choices");
        return choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() ?? "" : "";
    }
}
