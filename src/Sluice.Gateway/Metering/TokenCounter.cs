using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Counts tokens the way OpenAI does when the upstream reports none: o200k_base for the GPT-4o, GPT-4.1, GPT-5 and
/// o-series models, cl100k_base for the rest (GPT-4, GPT-3.5, embeddings, and as an approximation for others).
/// Chat prompts add OpenAI's framing: 3 tokens per message (+1 per name) and 3 to prime the reply.
/// </summary>
public sealed class TokenCounter
{
    private readonly Lazy<Tokenizer> _o200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private readonly Lazy<Tokenizer> _cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    /// <summary>The encoding used for <paramref name="model"/>: <c>o200k_base</c> or <c>cl100k_base</c>.</summary>
    public static string EncodingFor(string? model)
    {
        if (model is null)
        {
            return "cl100k_base";
        }
        return model.StartsWith("gpt-4o", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("chatgpt-4o", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("gpt-4.1", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("gpt-4.5", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("gpt-5", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("o1", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("o3", StringComparison.OrdinalIgnoreCase)
            || model.StartsWith("o4", StringComparison.OrdinalIgnoreCase)
            ? "o200k_base"
            : "cl100k_base";
    }

    /// <summary>The tokens of <paramref name="text"/> (in <see cref="TokenPieces"/>, so that no input takes the tokenizer long).</summary>
    public int CountText(string? model, string text)
    {
        var tally = new Tally(For(model), long.MaxValue);
        tally.Text(text);
        return (int)tally.Total;
    }

    /// <summary>
    /// The prompt tokens of a request body, by endpoint: chat messages, a completion prompt, embedding inputs, and
    /// what else the model reads as its prompt (the JSON of <c>tools</c>, <c>functions</c> and
    /// <c>response_format</c>, and the Responses API's <c>instructions</c>). Counting stops once the count is over
    /// <paramref name="limit"/> (then the result is some number over it), so a huge prompt over a cap costs little.
    /// </summary>
    public long CountPrompt(string? model, string endpoint, ReadOnlySpan<byte> body, long limit = long.MaxValue)
    {
        if (body.IsEmpty)
        {
            return 0;
        }
        using var document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = Inspection.RequestSummary.MaxDepth });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return 0;
        }
        var tally = new Tally(For(model), limit);
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            CountMessages(ref tally, messages);
        }
        else if (root.TryGetProperty("input", out var input))
        {
            if (endpoint.EndsWith("/embeddings", StringComparison.Ordinal))
            {
                CountInputs(ref tally, input);
            }
            else
            {
                CountContent(ref tally, input);
            }
        }
        else if (root.TryGetProperty("prompt", out var prompt))
        {
            CountInputs(ref tally, prompt);
        }
        if (root.TryGetProperty("instructions", out var instructions))
        {
            CountContent(ref tally, instructions);
        }
        foreach (var name in (ReadOnlySpan<string>)["tools", "functions", "response_format"])
        {
            if (root.TryGetProperty(name, out var definitions) && definitions.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
            {
                tally.Text(definitions.GetRawText());
            }
        }
        return tally.Total;
    }

    /// <summary>OpenAI's count for chat messages (the cookbook's num_tokens_from_messages).</summary>
    private static void CountMessages(ref Tally tally, JsonElement messages)
    {
        tally.Add(3);
        foreach (var message in messages.EnumerateArray())
        {
            tally.Add(3);
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            foreach (var property in message.EnumerateObject())
            {
                if (tally.Over)
                {
                    return;
                }
                if (property.NameEquals("role") || property.NameEquals("content"))
                {
                    CountContent(ref tally, property.Value);
                }
                else if (property.NameEquals("name"))
                {
                    tally.Add(1);
                    CountContent(ref tally, property.Value);
                }
                else if (property.NameEquals("tool_calls") || property.NameEquals("function_call"))
                {
                    tally.Text(property.Value.GetRawText());
                }
            }
        }
    }

    /// <summary>A string, or an array of content parts whose text parts count (images and audio are not counted).</summary>
    private static void CountContent(ref Tally tally, JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                tally.Text(Text(content));
                break;
            case JsonValueKind.Array:
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.String)
                    {
                        tally.Text(Text(part));
                    }
                    else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        tally.Text(Text(text));
                    }
                }
                break;
        }
    }

    /// <summary>Embedding or completion inputs: a string, an array of strings, or token arrays (each number one token).</summary>
    private static void CountInputs(ref Tally tally, JsonElement input)
    {
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                tally.Text(Text(input));
                break;
            case JsonValueKind.Array:
                foreach (var item in input.EnumerateArray())
                {
                    switch (item.ValueKind)
                    {
                        case JsonValueKind.Number:
                            tally.Add(1);
                            break;
                        case JsonValueKind.String:
                            tally.Text(Text(item));
                            break;
                        case JsonValueKind.Array:
                            tally.Add(item.GetArrayLength());
                            break;
                    }
                }
                break;
        }
    }

    /// <summary>A running count that stops tokenizing once it is over its limit.</summary>
    private struct Tally(Tokenizer tokenizer, long limit)
    {
        public long Total { get; private set; }

        public readonly bool Over => Total > limit;

        public void Add(long tokens) => Total += tokens;

        public void Text(ReadOnlySpan<char> text)
        {
            while (!text.IsEmpty && !Over)
            {
                var piece = TokenPieces.FirstLength(text);
                Piece(text[..piece]);
                text = text[piece..];
            }
        }

        private void Piece(ReadOnlySpan<char> text)
        {
            if (limit == long.MaxValue)
            {
                Total += tokenizer.CountTokens(text);
                return;
            }
            // At most one token past the limit: enough to know it is over, without tokenizing the rest.
            var budget = (int)Math.Min(limit - Total + 1, int.MaxValue);
            var end = tokenizer.GetIndexByTokenCount(text, budget, out _, out var counted);
            // Stopped before the end of the text: there was more than the budget (tiktoken does not normalize, so the
            // index is into the text as given).
            Total = end < text.Length ? Math.Max(Total + counted, limit + 1) : Total + counted;
        }
    }

    /// <summary>A JSON string's text; one that is not valid text (an escaped lone surrogate) counts as written, escapes and all.</summary>
    private static string Text(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return value.GetRawText();
        }
    }

    private Tokenizer For(string? model) => EncodingFor(model) == "o200k_base" ? _o200k.Value : _cl100k.Value;
}
