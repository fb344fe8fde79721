using System.Text;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Tests.Metering;

/// <summary>The fallback token counts agree with tiktoken's published counts.</summary>
public sealed class TokenCounterTests
{
    private static readonly TokenCounter Counter = new();

    [Theory]
    [InlineData("gpt-3.5-turbo", "hello world", 2)]
    [InlineData("gpt-4", "tiktoken is great!", 6)]
    [InlineData("gpt-4o", "hello world", 2)]
    public void CountText_MatchesTiktoken(string model, string text, int expected)
    {
        Assert.Equal(expected, Counter.CountText(model, text));
    }

    [Fact]
    public void EncodingFor_PicksO200kForNewModels()
    {
        Assert.Equal("o200k_base", TokenCounter.EncodingFor("gpt-4o-mini"));
        Assert.Equal("o200k_base", TokenCounter.EncodingFor("gpt-5"));
        Assert.Equal("cl100k_base", TokenCounter.EncodingFor("gpt-3.5-turbo"));
        Assert.Equal("cl100k_base", TokenCounter.EncodingFor("text-embedding-3-small"));
    }

    /// <summary>The OpenAI cookbook's example conversation ("How to count tokens with tiktoken"): 129 prompt tokens
    /// on gpt-3.5-turbo and gpt-4, 124 on gpt-4o, as the API itself reports.</summary>
    [Theory]
    [InlineData("gpt-3.5-turbo", 129)]
    [InlineData("gpt-4", 129)]
    [InlineData("gpt-4o", 124)]
    [InlineData("gpt-4o-mini", 124)]
    public void CountPrompt_CookbookConversation_MatchesTheApi(string model, long expected)
    {
        var body = """
            {"model":"x","messages":[
              {"role":"system","content":"You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
              {"role":"system","name":"example_user","content":"New synergies will help drive top-line growth."},
              {"role":"system","name":"example_assistant","content":"Things working well together will increase revenue."},
              {"role":"system","name":"example_user","content":"Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
              {"role":"system","name":"example_assistant","content":"Let's talk later when we're less busy about how to do better."},
              {"role":"user","content":"This late pivot means we don't have time to boil the ocean for the client deliverable."}
            ]}
            """;
        Assert.Equal(expected, Counter.CountPrompt(model, "/v1/chat/completions", Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void CountPrompt_EmbeddingInputs_StringsAndTokenArrays()
    {
        var body = """{"model":"text-embedding-3-small","input":["hello world", [1, 2, 3]]}""";
        Assert.Equal(5, Counter.CountPrompt("text-embedding-3-small", "/v1/embeddings", Encoding.UTF8.GetBytes(body)));
    }
}
