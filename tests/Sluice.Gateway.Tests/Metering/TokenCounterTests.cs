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

    /// <summary>With a limit, counting stops once it is over (a huge prompt over a cap is not tokenized to its end):
    /// at the limit the count is exact, one under it the count is over it.</summary>
    [Fact]
    public void CountPrompt_WithALimit_IsExactUpToIt_AndOverItWhenThePromptIsLonger()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"model":"gpt-4o","messages":[{"role":"user","content":"{{string.Join(' ', Enumerable.Repeat("alpha beta", 5_000))}}"}]}""");
        var full = Counter.CountPrompt("gpt-4o", "/v1/chat/completions", body);

        Assert.Equal(10_007, full);
        Assert.Equal(full, Counter.CountPrompt("gpt-4o", "/v1/chat/completions", body, limit: full));
        Assert.Equal(full, Counter.CountPrompt("gpt-4o", "/v1/chat/completions", body, limit: 1_000_000));
        var cut = Counter.CountPrompt("gpt-4o", "/v1/chat/completions", body, limit: 100);
        Assert.InRange(cut, 101, full);
        Assert.InRange(Counter.CountPrompt("gpt-4o", "/v1/chat/completions", body, limit: full - 1), full, full);
    }

    /// <summary>Tool definitions, a response format and instructions are part of what the model reads: their JSON
    /// text counts.</summary>
    [Fact]
    public void CountPrompt_CountsToolsResponseFormatAndInstructions()
    {
        const string Tools = """[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object"}}}]""";
        var plain = Counter.CountPrompt("gpt-4o", "/v1/chat/completions", Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"hi"}]}"""));
        var withTools = Counter.CountPrompt("gpt-4o", "/v1/chat/completions", Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"hi"}],"tools":{{Tools}}}"""));
        var responses = Counter.CountPrompt("gpt-4o", "/v1/responses", Encoding.UTF8.GetBytes("""{"input":"hi","instructions":"Answer in French."}"""));

        Assert.Equal(plain + Counter.CountText("gpt-4o", Tools), withTools);
        Assert.Equal(Counter.CountText("gpt-4o", "hi") + Counter.CountText("gpt-4o", "Answer in French."), responses);
    }

    /// <summary>Prose, compact JSON and code have no run of one kind that the tokenizer could not split quickly: they
    /// are counted whole, so exactly as OpenAI counts them.</summary>
    [Fact]
    public void Pieces_OrdinaryText_IsOnePiece()
    {
        var prose = string.Concat(Enumerable.Repeat("The quick brown fox, it seems, jumps over 1,234 lazy dogs; naïve café déjà-vu! 日本語の文章です。 ", 400));
        var json = string.Concat(Enumerable.Repeat("""{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},""", 200));
        var code = string.Concat(Enumerable.Repeat("for(var i=0;i<n;i++){total+=values[i]*weights[i];}\n", 200));

        foreach (var text in new[] { prose, json, code })
        {
            Assert.True(text.Length > 10_000);
            Assert.Equal(text.Length, TokenPieces.FirstLength(text));
        }
    }

    /// <summary>A long run of one kind (letters, punctuation, whitespace, letters outside the BMP) is cut every
    /// <see cref="TokenPieces.MaxRun"/> characters, never inside a surrogate pair: no piece the tokenizer gets is longer.
    /// (Whole, 200,000 letters took the tokenizer 22–30 s; see <see cref="TokenPieces"/>.)</summary>
    [Theory]
    [InlineData("a")]
    [InlineData("_")]
    [InlineData(" ")]
    [InlineData("\n")]
    [InlineData("\U0001D400")]
    [InlineData("a\U0001D400")]
    public void Pieces_LongRunOfOneKind_IsCutIntoShortPieces(string unit)
    {
        var text = string.Concat(Enumerable.Repeat(System.Text.RegularExpressions.Regex.Unescape(unit), 200_000 / unit.Length));
        var pieces = 0;
        for (var rest = text.AsSpan(); !rest.IsEmpty; pieces++)
        {
            var length = TokenPieces.FirstLength(rest);
            Assert.InRange(length, 1, TokenPieces.MaxRun + 1);
            Assert.False(char.IsHighSurrogate(rest[length - 1]), "a piece ends inside a surrogate pair");
            rest = rest[length..];
        }
        Assert.True(pieces >= text.Length / (TokenPieces.MaxRun + 1));
    }

    /// <summary>Counted in pieces, 200,000 <c>a</c>s are still 25,000 tokens (eight to a token, as tiktoken counts
    /// them whole), and a free plan's 4,096-token cap sees a prompt of them as over it.</summary>
    [Fact]
    public void CountPrompt_LongRunOfOneLetter_CountsAsTiktokenAndStopsAtTheCap()
    {
        var text = new string('a', 200_000);
        var body = Encoding.UTF8.GetBytes($$"""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"{{text}}"}]}""");

        Assert.Equal(25_000, Counter.CountText("gpt-4o-mini", text));
        Assert.InRange(Counter.CountPrompt("gpt-4o-mini", "/v1/chat/completions", body, limit: 4_096), 4_097, 25_007);
        Assert.Equal(25_000 + 3 + 3 + 1, Counter.CountPrompt("gpt-4o-mini", "/v1/chat/completions", body));
    }
}
