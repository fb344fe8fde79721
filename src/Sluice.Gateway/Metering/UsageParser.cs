using System.Text;
using System.Text.Json;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Reads OpenAI <c>usage</c> objects (chat/completions/embeddings: <c>prompt_tokens</c>, <c>completion_tokens</c>,
/// <c>prompt_tokens_details.cached_tokens</c>; responses: <c>input_tokens</c>, <c>output_tokens</c>,
/// <c>input_tokens_details.cached_tokens</c>) and the text of answers and stream chunks.
/// </summary>
internal static class UsageParser
{
    private static ReadOnlySpan<byte> UsageName => "\"usage\""u8;

    /// <summary>More tokens than any one call can have: a count above it is not believed.</summary>
    public const long MostTokens = 100_000_000;

    /// <summary>
    /// Reads a usage object; the reader is on its StartObject and ends on its EndObject. Null when a count is not a
    /// whole number from 0 to <see cref="MostTokens"/> (an upstream reporting nonsense): the call is then metered as
    /// if it had reported no usage, by the tokenizer, rather than billed a negative or absurd amount.
    /// </summary>
    public static TokenUsage? ReadUsage(ref Utf8JsonReader reader)
    {
        long prompt = 0, cached = 0, completion = 0;
        var believable = true;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }
            if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8))
            {
                prompt = ReadNumber(ref reader, depth + 1, prompt, ref believable);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8))
            {
                completion = ReadNumber(ref reader, depth + 1, completion, ref believable);
            }
            else if (reader.ValueTextEquals("cached_tokens"u8))
            {
                cached = ReadNumber(ref reader, depth + 2, cached, ref believable);
            }
        }
        return believable ? new TokenUsage(prompt, cached, completion) : null;
    }

    /// <summary>
    /// The top-level <c>usage</c> of a JSON answer whose end is in <paramref name="tail"/>: the last <c>"usage":{</c>
    /// (inside JSON strings quotes are escaped, so this exact text can only be a property name).
    /// </summary>
    public static TokenUsage? FromJsonTail(ReadOnlySpan<byte> tail)
    {
        var at = tail.LastIndexOf(UsageName);
        while (at >= 0)
        {
            var rest = tail[(at + UsageName.Length)..].TrimStart(" \t\r\n"u8);
            if (rest.Length > 1 && rest[0] == (byte)':')
            {
                rest = rest[1..].TrimStart(" \t\r\n"u8);
                if (rest.Length > 0 && rest[0] == (byte)'{')
                {
                    try
                    {
                        var reader = new Utf8JsonReader(rest, isFinalBlock: false, default);
                        reader.Read();
                        return ReadUsage(ref reader);
                    }
                    catch (JsonException)
                    {
                        return null;
                    }
                }
            }
            at = tail[..at].LastIndexOf(UsageName);
        }
        return null;
    }

    /// <summary>The generated text of a whole (non-stream) JSON answer: <c>choices[].message.content</c> or <c>choices[].text</c>.</summary>
    public static string AnswerText(ReadOnlySpan<byte> json)
    {
        var text = new StringBuilder();
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("text"u8)))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        text.Append(reader.GetString());
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A cut or partial answer: what was read so far.
        }
        return text.ToString();
    }

    /// <summary>
    /// One stream chunk: its usage (when not null), whether it has an empty <c>choices</c> array (the extra usage
    /// chunk), and its generated text (<c>choices[].delta.content</c>, <c>choices[].text</c>, or a responses
    /// <c>delta</c>) appended to <paramref name="text"/>.
    /// </summary>
    public static (TokenUsage? Usage, bool EmptyChoices) ReadChunk(ReadOnlySpan<byte> json, StringBuilder text)
    {
        TokenUsage? usage = null;
        var emptyChoices = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, false);
            }
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }
                if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        usage = ReadUsage(ref reader);
                    }
                }
                else if (reader.CurrentDepth == 1 && reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        reader.Read();
                        emptyChoices = reader.TokenType == JsonTokenType.EndArray;
                    }
                }
                else if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        text.Append(reader.GetString());
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: passed through, not metered.
        }
        return (usage, emptyChoices);
    }

    private static long ReadNumber(ref Utf8JsonReader reader, int expectedDepth, long current, ref bool believable)
    {
        var depth = reader.CurrentDepth;
        reader.Read();
        if (depth != expectedDepth)
        {
            // TrySkip: the tail of an answer is read as partial data, where Skip throws.
            reader.TrySkip();
            return current;
        }
        if (reader.TokenType == JsonTokenType.Null)
        {
            return current;
        }
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value is >= 0 and <= MostTokens)
        {
            return value;
        }
        believable = false;
        reader.TrySkip();
        return current;
    }
}
