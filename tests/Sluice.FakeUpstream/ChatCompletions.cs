using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>POST /v1/chat/completions, non-stream and stream.</summary>
internal static class ChatCompletions
{
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
                || !TryMessages(exchange, root, out var messages, out error)
                || !RequestFields.TryPositiveInt(exchange, root, "max_tokens", out var maxTokens, out error)
                || !RequestFields.TryPositiveInt(exchange, root, "max_completion_tokens", out var maxCompletionTokens, out error)
                || !RequestFields.TryStream(exchange, root, out var stream, out var includeUsage, out error))
            {
                return error;
            }
            if (RequestFields.IsUnknownModel(model))
            {
                return OpenAiErrors.ModelNotFoundAsync(exchange, model);
            }
            var completion = Completion.Create("chatcmpl-", model, Tokens.ChatPrompt(messages), exchange.Options.ReplyWords, maxTokens, maxCompletionTokens)
                with { Reported = exchange.ReportedUsage };
            return stream ? StreamAsync(exchange, completion, includeUsage && !exchange.OmitUsage) : SendAsync(exchange, completion);
        }
    }

    private static bool TryMessages(Exchange exchange, JsonElement root, out JsonElement messages, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out Task? error)
    {
        error = null;
        if (!root.TryGetProperty("messages", out messages) || messages.ValueKind == JsonValueKind.Null)
        {
            error = OpenAiErrors.MissingParameterAsync(exchange, "messages");
            return false;
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            error = OpenAiErrors.InvalidTypeAsync(exchange, "messages", "an array of objects", messages);
            return false;
        }
        if (messages.GetArrayLength() == 0)
        {
            error = OpenAiErrors.SendAsync(exchange, 400,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                OpenAiErrors.InvalidRequest, "messages", "empty_array");
            return false;
        }
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                error = OpenAiErrors.InvalidTypeAsync(exchange, $"messages[{index}]", "an object", message);
                return false;
            }
            index++;
        }
        return true;
    }

    private static Task SendAsync(Exchange exchange, Completion completion)
    {
        var writer = Json.Start();
        writer.WriteStartObject();
        writer.WriteString("id"u8, completion.Id);
        writer.WriteString("object"u8, "chat.completion"u8);
        writer.WriteNumber("created"u8, completion.Created);
        writer.WriteString("model"u8, completion.Model);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("content"u8, ReplyText.Text(completion.CompletionTokens));
        writer.WriteNull("refusal"u8);
        writer.WriteStartArray("annotations"u8);
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        writer.WriteString("finish_reason"u8, completion.FinishReason);
        writer.WriteEndObject();
        writer.WriteEndArray();
        if (!exchange.OmitUsage)
        {
            completion.WriteUsage(writer, details: true);
        }
        writer.WriteString("service_tier"u8, "default"u8);
        writer.WriteString("system_fingerprint"u8, "fp_fake"u8);
        writer.WriteEndObject();
        return exchange.SendJsonAsync(200, Json.Finish(writer));
    }

    private enum Part
    {
        Role,
        Content,
        Finish,
    }

    /// <summary>Role chunk, one chunk per word, finish chunk, with include_usage a usage chunk, then [DONE].</summary>
    private static async Task StreamAsync(Exchange exchange, Completion completion, bool includeUsage)
    {
        using var sse = Sse.Start(exchange);
        if (!await sse.NextAsync())
        {
            return;
        }
        WriteChunk(sse.Begin(), completion, includeUsage, Part.Role, null);
        if (!await sse.SendAsync())
        {
            return;
        }
        for (var i = 0; i < completion.CompletionTokens; i++)
        {
            if (!await sse.NextAsync())
            {
                return;
            }
            WriteChunk(sse.Begin(), completion, includeUsage, Part.Content, ReplyText.Chunk(i));
            if (!await sse.SendAsync())
            {
                return;
            }
        }
        if (!await sse.NextAsync())
        {
            return;
        }
        WriteChunk(sse.Begin(), completion, includeUsage, Part.Finish, null);
        if (!await sse.SendAsync())
        {
            return;
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
            completion.WriteUsage(writer, details: true);
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
        writer.WriteString("object"u8, "chat.completion.chunk"u8);
        writer.WriteNumber("created"u8, completion.Created);
        writer.WriteString("model"u8, completion.Model);
        writer.WriteString("service_tier"u8, "default"u8);
        writer.WriteString("system_fingerprint"u8, "fp_fake"u8);
    }

    private static void WriteChunk(Utf8JsonWriter writer, Completion completion, bool includeUsage, Part part, string? content)
    {
        WriteChunkHeader(writer, completion);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("delta"u8);
        switch (part)
        {
            case Part.Role:
                writer.WriteString("role"u8, "assistant"u8);
                writer.WriteString("content"u8, ""u8);
                writer.WriteNull("refusal"u8);
                break;
            case Part.Content:
                writer.WriteString("content"u8, content);
                break;
            case Part.Finish:
                break;
        }
        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        if (part == Part.Finish)
        {
            writer.WriteString("finish_reason"u8, completion.FinishReason);
        }
        else
        {
            writer.WriteNull("finish_reason"u8);
        }
        writer.WriteEndObject();
        writer.WriteEndArray();
        if (includeUsage)
        {
            writer.WriteNull("usage"u8);
        }
        writer.WriteEndObject();
    }
}
