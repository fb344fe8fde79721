using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>The fake's token accounting, deterministic so that tests can predict usage:
/// <list type="bullet">
/// <item>a token is a whitespace-separated word;</item>
/// <item>chat prompt_tokens = 3 + Σ over messages of (4 + words in the message's content), where content is a string,
/// or an array whose <c>{"type":"text","text":…}</c> parts count (other parts count 0), or null/absent (0);</item>
/// <item>legacy completions prompt_tokens = words in the prompt (a string, strings, or token arrays where each integer
/// is one token); embeddings prompt_tokens = the same over <c>input</c>;</item>
/// <item>completion_tokens = words in the reply = content chunks in a stream; total_tokens = prompt + completion.</item>
/// </list></summary>
internal static class Tokens
{
    public const int PerMessage = 4;
    public const int PerConversation = 3;

    public static int CountWords(ReadOnlySpan<char> text)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                inWord = false;
            }
            else if (!inWord)
            {
                inWord = true;
                count++;
            }
        }
        return count;
    }

    public static int CountWords(JsonElement stringElement) => CountWords(stringElement.GetString());

    /// <summary>Chat prompt tokens; <paramref name="messages"/> is a validated array.</summary>
    public static int ChatPrompt(JsonElement messages)
    {
        var total = PerConversation;
        foreach (var message in messages.EnumerateArray())
        {
            total += PerMessage;
            if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var content))
            {
                total += Content(content);
            }
        }
        return total;
    }

    private static int Content(JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return CountWords(content);
            case JsonValueKind.Array:
                var total = 0;
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object
                        && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("text"u8)
                        && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        total += CountWords(text);
                    }
                }
                return total;
            default:
                return 0;
        }
    }
}
