using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>Validation shared by the completion endpoints; each returns false with the error answer to send.</summary>
internal static class RequestFields
{
    public static bool TryParse(Exchange exchange, byte[] body, [NotNullWhen(true)] out JsonDocument? document, [NotNullWhen(false)] out Task? error)
    {
        document = null;
        error = null;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            error = OpenAiErrors.InvalidJsonAsync(exchange);
            return false;
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            document = null;
            error = OpenAiErrors.InvalidJsonAsync(exchange);
            return false;
        }
        return true;
    }

    public static bool TryModel(Exchange exchange, JsonElement root, [NotNullWhen(true)] out string? model, [NotNullWhen(false)] out Task? error)
    {
        model = null;
        error = null;
        if (!root.TryGetProperty("model", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            error = OpenAiErrors.MissingModelAsync(exchange);
            return false;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            error = OpenAiErrors.InvalidTypeAsync(exchange, "model", "a string", value);
            return false;
        }
        model = value.GetString()!;
        if (model.Length == 0)
        {
            error = OpenAiErrors.MissingModelAsync(exchange);
            return false;
        }
        return true;
    }

    /// <summary>Any model is served except those whose name starts with "unknown".</summary>
    public static bool IsUnknownModel(string model) => model.StartsWith("unknown", StringComparison.Ordinal);

    /// <summary>An optional integer ≥ 1 (max_tokens, max_completion_tokens).</summary>
    public static bool TryPositiveInt(Exchange exchange, JsonElement root, string name, out int? value, [NotNullWhen(false)] out Task? error)
    {
        value = null;
        error = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out var number))
        {
            error = OpenAiErrors.InvalidTypeAsync(exchange, name, "an integer", element);
            return false;
        }
        if (number < 1)
        {
            error = OpenAiErrors.SendAsync(exchange, 400,
                $"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {number} instead.",
                OpenAiErrors.InvalidRequest, name, "integer_below_min_value");
            return false;
        }
        value = (int)Math.Min(number, int.MaxValue);
        return true;
    }

    /// <summary>stream and stream_options.include_usage; stream_options without stream is OpenAI's 400.</summary>
    public static bool TryStream(Exchange exchange, JsonElement root, out bool stream, out bool includeUsage, [NotNullWhen(false)] out Task? error)
    {
        stream = root.IsTrue("stream");
        includeUsage = false;
        error = null;
        if (root.TryGetProperty("stream_options", out var options) && options.ValueKind != JsonValueKind.Null)
        {
            if (!stream)
            {
                error = OpenAiErrors.SendAsync(exchange, 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    OpenAiErrors.InvalidRequest, "stream_options");
                return false;
            }
            includeUsage = options.ValueKind == JsonValueKind.Object && options.IsTrue("include_usage");
        }
        return true;
    }
}

/// <summary>What an answer says, decided before it is written.</summary>
internal sealed record Completion(string Id, long Created, string Model, int PromptTokens, int CompletionTokens, string FinishReason)
{
    public int TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>ReplyWords words, or fewer with finish_reason "length" when a cap is smaller.</summary>
    public static Completion Create(string idPrefix, string model, int promptTokens, int replyWords, int? cap1, int? cap2)
    {
        var words = Math.Max(0, replyWords);
        var cap = Math.Min(cap1 ?? int.MaxValue, cap2 ?? int.MaxValue);
        var finish = "stop";
        if (cap < words)
        {
            words = cap;
            finish = "length";
        }
        return new Completion(Ids.Completion(idPrefix), Ids.UnixNow(), model, promptTokens, words, finish);
    }

    /// <summary>"usage" with the detail objects of chat completions, or only the three counts.</summary>
    public void WriteUsage(Utf8JsonWriter writer, bool details)
    {
        writer.WriteStartObject("usage"u8);
        WriteCount(writer, "prompt_tokens", PromptTokens);
        WriteCount(writer, "completion_tokens", CompletionTokens);
        WriteCount(writer, "total_tokens", TotalTokens);
        if (details)
        {
            writer.WriteStartObject("prompt_tokens_details"u8);
            WriteCount(writer, "cached_tokens", 0);
            writer.WriteNumber("audio_tokens"u8, 0);
            writer.WriteEndObject();
            writer.WriteStartObject("completion_tokens_details"u8);
            writer.WriteNumber("reasoning_tokens"u8, 0);
            writer.WriteNumber("audio_tokens"u8, 0);
            writer.WriteNumber("accepted_prediction_tokens"u8, 0);
            writer.WriteNumber("rejected_prediction_tokens"u8, 0);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    /// <summary>What the usage reports instead of the true counts (see <see cref="Exchange.ReportedUsage"/>).</summary>
    public IReadOnlyDictionary<string, string>? Reported { get; init; }

    private void WriteCount(Utf8JsonWriter writer, string name, int value)
    {
        if (Reported is not null && Reported.TryGetValue(name, out var raw))
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(raw, skipInputValidation: true);
        }
        else
        {
            writer.WriteNumber(name, value);
        }
    }
}
