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

    public int CountText(string? model, string text) => text.Length == 0 ? 0 : For(model).CountTokens(text);

    /// <summary>The prompt tokens of a request body, by endpoint: chat messages, a completion prompt, embedding inputs.</summary>
    public long CountPrompt(string? model, string endpoint, ReadOnlySpan<byte> body)
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
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            return CountMessages(model, messages);
        }
        if (root.TryGetProperty("input", out var input))
        {
            return endpoint.EndsWith("/embeddings", StringComparison.Ordinal) ? CountInputs(model, input) : CountContent(model, input);
        }
        return root.TryGetProperty("prompt", out var prompt) ? CountInputs(model, prompt) : 0;
    }

    /// <summary>OpenAI's count for chat messages (the cookbook's num_tokens_from_messages).</summary>
    public long CountMessages(string? model, JsonElement messages)
    {
        long tokens = 3;
        foreach (var message in messages.EnumerateArray())
        {
            tokens += 3;
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            foreach (var property in message.EnumerateObject())
            {
                if (property.NameEquals("role"))
                {
                    tokens += CountContent(model, property.Value);
                }
                else if (property.NameEquals("content"))
                {
                    tokens += CountContent(model, property.Value);
                }
                else if (property.NameEquals("name"))
                {
                    tokens += 1 + CountContent(model, property.Value);
                }
                else if (property.NameEquals("tool_calls") || property.NameEquals("function_call"))
                {
                    tokens += CountText(model, property.Value.GetRawText());
                }
            }
        }
        return tokens;
    }

    /// <summary>A string, or an array of content parts whose text parts count (images and audio are not counted).</summary>
    private long CountContent(string? model, JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return CountText(model, Text(content));
            case JsonValueKind.Array:
                long tokens = 0;
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.String)
                    {
                        tokens += CountText(model, Text(part));
                    }
                    else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        tokens += CountText(model, Text(text));
                    }
                }
                return tokens;
            default:
                return 0;
        }
    }

    /// <summary>Embedding or completion inputs: a string, an array of strings, or token arrays (each number one token).</summary>
    private long CountInputs(string? model, JsonElement input)
    {
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                return CountText(model, Text(input));
            case JsonValueKind.Array:
                long tokens = 0;
                foreach (var item in input.EnumerateArray())
                {
                    tokens += item.ValueKind switch
                    {
                        JsonValueKind.Number => 1,
                        JsonValueKind.String => CountText(model, Text(item)),
                        JsonValueKind.Array => item.GetArrayLength(),
                        _ => 0,
                    };
                }
                return tokens;
            default:
                return 0;
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
