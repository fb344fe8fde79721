using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>POST /v1/completions (legacy), non-stream and stream: one <c>text</c> chunk per word.</summary>
internal static class LegacyCompletions
{
    /// <summary>The legacy endpoint's default max_tokens.</summary>
    private const int DefaultMaxTokens = 16;

    public static Task HandleAsync(Exchange exchange, byte[] body)
    {
        if (!RequestFields.TryParse(exchange, body, out var document, out var error))
        {
            return error;
        }
        using (document)
        {
            var root = document.RootElement;
            if (!RequestFields.TryModel(exchange, root, out var model, out error)
                || !RequestFields.TryPositiveInt(exchange, root, "max_tokens", out var maxTokens, out error)
                || !RequestFields.TryStream(exchange, root, out var stream, out var includeUsage, out error))
            {
                return error;
            }
            if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            {
                return OpenAiErrors.MissingParameterAsync(exchange, "prompt");
            }
            var promptTokens = Inputs.CountTokens(prompt);
            if (promptTokens < 0)
            {
                return OpenAiErrors.InvalidTypeAsync(exchange, "prompt", "a string or an array", prompt);
            }
            if (RequestFields.IsUnknownModel(model))
            {
                return OpenAiErrors.ModelNotFoundAsync(exchange, model);
            }
            var completion = Completion.Create("cmpl-", model, promptTokens, exchange.Options.ReplyWords, maxTokens ?? DefaultMaxTokens, null);
            return stream ? StreamAsync(exchange, completion, includeUsage) : SendAsync(exchange, completion);
        }
    }

    private static Task SendAsync(Exchange exchange, Completion completion)
    {
        var writer = Json.Start();
        writer.WriteStartObject();
        writer.WriteString("id"u8, completion.Id);
        writer.WriteString("object"u8, "text_completion"u8);
        writer.WriteNumber("created"u8, completion.Created);
        writer.WriteString("model"u8, completion.Model);
        writer.WriteStartArray("choices"u8);
        WriteChoice(writer, ReplyText.Text(completion.CompletionTokens), completion.FinishReason);
        writer.WriteEndArray();
        completion.WriteUsage(writer, details: false);
        writer.WriteEndObject();
        return exchange.SendJsonAsync(200, Json.Finish(writer));
    }

    private static async Task StreamAsync(Exchange exchange, Completion completion, bool includeUsage)
    {
        using var sse = Sse.Start(exchange);
        for (var i = 0; i <= completion.CompletionTokens; i++)
        {
            if (!await sse.NextAsync())
            {
                return;
            }
            var last = i == completion.CompletionTokens;
            var writer = sse.Begin();
            WriteChunkHeader(writer, completion);
            writer.WriteStartArray("choices"u8);
            WriteChoice(writer, last ? "" : ReplyText.Chunk(i), last ? completion.FinishReason : null);
            writer.WriteEndArray();
            if (includeUsage)
            {
                writer.WriteNull("usage"u8);
            }
            writer.WriteEndObject();
            if (!await sse.SendAsync())
            {
                return;
            }
        }
        if (includeUsage)
        {
            if (!await sse.NextAsync())
            {
                return;
            }
            var writer = sse.Begin();
            WriteChunkHeader(writer, completion);
            writer.WriteStartArray("choices"u8);
            writer.WriteEndArray();
            completion.WriteUsage(writer, details: false);
            writer.WriteEndObject();
            if (!await sse.SendAsync())
            {
                return;
            }
        }
        await sse.DoneAsync();
    }

    private static void WriteChunkHeader(Utf8JsonWriter writer, Completion completion)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, completion.Id);
        writer.WriteString("object"u8, "text_completion"u8);
        writer.WriteNumber("created"u8, completion.Created);
        writer.WriteString("model"u8, completion.Model);
    }

    private static void WriteChoice(Utf8JsonWriter writer, string text, string? finishReason)
    {
        writer.WriteStartObject();
        writer.WriteString("text"u8, text);
        writer.WriteNumber("index"u8, 0);
        writer.WriteNull("logprobs"u8);
        writer.WriteNullableString("finish_reason", finishReason);
        writer.WriteEndObject();
    }
}
