using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using Sluice.Core.Usage;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The official OpenAI .NET library pointed at Sluice, as a user would (only the endpoint and the key change), with
/// the real gateway in front of the fake upstream: answers, streams, embeddings, models and errors reach it in the
/// shapes it parses, and what it reports as usage is what the ledger holds.
/// </summary>
public sealed class OfficialSdkTests
{
    private const string Model = "gpt-4o-mini";

    [Fact]
    public async Task Chat_Json_SdkReadsTheAnswerAndItsUsage_LedgerAgrees()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        var ids = new RequestIds();
        var chat = Sdk(relay, key, ids).GetChatClient(Model);

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from the fake upstream. This deterministic reply", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(8, completion.Usage.OutputTokenCount);
        var row = await MeteringTests.LedgerRow(relay, Assert.Single(ids.Seen));
        Assert.Equal(completion.Usage.InputTokenCount, row.PromptTokens);
        Assert.Equal(completion.Usage.OutputTokenCount, row.CompletionTokens);
        Assert.Equal(UsageSource.Upstream, row.Source);
    }

    [Fact]
    public async Task Chat_Streaming_SdkGetsEveryChunkAndTheUsage_LedgerAgrees()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        var ids = new RequestIds();
        var chat = Sdk(relay, key, ids).GetChatClient(Model);

        var text = new System.Text.StringBuilder();
        var updates = 0;
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        // The role chunk, one chunk per word (8), the finish chunk, the usage chunk.
        Assert.Equal(11, updates);
        Assert.Equal("Hello from the fake upstream. This deterministic reply", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(8, usage.OutputTokenCount);
        var row = await MeteringTests.LedgerRow(relay, Assert.Single(ids.Seen));
        Assert.True(row.Streamed);
        Assert.Equal(usage.InputTokenCount, row.PromptTokens);
        Assert.Equal(usage.OutputTokenCount, row.CompletionTokens);
    }

    [Fact]
    public async Task Embeddings_AndModels_ReadByTheSdk()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        var sdk = Sdk(relay, key);

        OpenAIEmbeddingCollection embeddings = await sdk.GetEmbeddingClient("text-embedding-3-small").GenerateEmbeddingsAsync(["a b", "c"]);
        var models = (await sdk.GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Equal(2, embeddings.Count);
        Assert.All(embeddings, embedding => Assert.False(embedding.ToFloats().IsEmpty));
        Assert.Contains(models, model => model.Id == Model);
    }

    [Fact]
    public async Task WrongKey_SdkThrows401_WithOpenAIsMessage_UpstreamNeverCalled()
    {
        await using var relay = await RelayFixture.StartAsync();
        var chat = Sdk(relay, "sk-not-a-key-of-this-gateway-0123456789abcdefghijklmnopqrstu").GetChatClient(Model);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("Say hello")]));

        Assert.Equal(401, refused.Status);
        Assert.Contains("invalid_api_key", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Incorrect API key provided", refused.Message, StringComparison.Ordinal);
        Assert.Empty(relay.Upstream.Requests);
    }

    [Fact]
    public async Task LimitReached_SdkThrows429_SayingWhichLimitAndWhen_AndTheRefusalCostsNothing()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(2));
        var (keyId, key) = await relay.Gateway.CreateKeyAsync();
        var chat = Sdk(relay, key).GetChatClient(Model);
        await chat.CompleteChatAsync([new UserChatMessage("one")]);
        await chat.CompleteChatAsync([new UserChatMessage("two")]);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("three")]));

        Assert.Equal(429, refused.Status);
        Assert.Contains("rate_limit_exceeded", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Rate limit reached for this API key", refused.Message, StringComparison.Ordinal);
        var response = refused.GetRawResponse()!;
        Assert.True(response.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.InRange(int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture), 86_000, 86_400);
        Assert.True(response.Headers.TryGetValue("x-ratelimit-remaining-requests", out var remaining));
        Assert.Equal("0", remaining);
        Assert.Equal(2, relay.Upstream.Requests.Count);
        Assert.Equal(2, await relay.UsedAsync(keyId));
    }

    /// <summary>The SDK as a user sets it up for Sluice: its own key and Sluice's <c>/v1</c> as the endpoint; requests
    /// leave from 127.0.0.<paramref name="ip"/>. No retries, so that a refusal reaches the test as the SDK reports it.</summary>
    private static OpenAIClient Sdk(RelayFixture relay, string key, RequestIds? ids = null, int ip = 2)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(new Uri(relay.Gateway.BaseUrl), "v1"),
            Transport = new HttpClientPipelineTransport(relay.Gateway.ClientFrom(ip)),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (ids is not null)
        {
            options.AddPolicy(ids, PipelinePosition.PerCall);
        }
        return new OpenAIClient(new ApiKeyCredential(key), options);
    }

    /// <summary>Notes the <c>x-sluice-request-id</c> of every answer the SDK gets (a pipeline policy, as an application would add).</summary>
    private sealed class RequestIds : PipelinePolicy
    {
        public List<string> Seen { get; } = [];

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            ProcessNext(message, pipeline, currentIndex);
            Note(message);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            await ProcessNextAsync(message, pipeline, currentIndex);
            Note(message);
        }

        private void Note(PipelineMessage message)
        {
            if (message.Response?.Headers.TryGetValue("x-sluice-request-id", out var id) == true)
            {
                lock (Seen)
                {
                    Seen.Add(id!);
                }
            }
        }
    }
}
