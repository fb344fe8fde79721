using System.Text.Json;

namespace Sluice.Gateway.Inspection;

/// <summary>The top-level fields of an OpenAI request body that Sluice acts on.</summary>
internal readonly record struct RequestSummary(string? Model, bool Stream, bool HasStreamOptions, bool IncludeUsage, int? MaxTokens)
{
    /// <summary>
    /// Reads the whole document (so that malformed JSON is caught here, before anything is counted) but
    /// keeps only the top-level <c>model</c>, <c>stream</c>, <c>stream_options.include_usage</c> and the token cap.
    /// </summary>
    /// <exception cref="JsonException">The body is not a JSON object.</exception>
    public static RequestSummary Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The request body must be a JSON object.");
        }
        string? model = null;
        var stream = false;
        var hasStreamOptions = false;
        var includeUsage = false;
        int? maxTokens = null;
        int? maxCompletionTokens = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                stream = reader.TokenType == JsonTokenType.True;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("max_tokens"u8))
            {
                reader.Read();
                maxTokens = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("max_completion_tokens"u8) || reader.ValueTextEquals("max_output_tokens"u8))
            {
                reader.Read();
                maxCompletionTokens = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                hasStreamOptions = true;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    includeUsage = ReadIncludeUsage(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("The request body has content after its JSON object.");
        }
        return new RequestSummary(model, stream, hasStreamOptions, includeUsage, maxCompletionTokens ?? maxTokens);
    }

    private static bool ReadIncludeUsage(ref Utf8JsonReader reader)
    {
        var includeUsage = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            if (isIncludeUsage)
            {
                includeUsage = reader.TokenType == JsonTokenType.True;
            }
            reader.Skip();
        }
        return includeUsage;
    }
}
