using System.Text.Json;
using System.Text.Unicode;

namespace Sluice.Gateway.Inspection;

/// <summary>The top-level fields of an OpenAI request body that Sluice acts on.</summary>
internal readonly record struct RequestSummary(string? Model, bool Stream, bool HasStreamOptions, bool IncludeUsage, int? MaxTokens, int Choices)
{
    /// <summary>The longest model name accepted (OpenAI's are under 64 characters).</summary>
    public const int MaxModelLength = 256;

    /// <summary>The deepest nesting accepted (JSON schemas of tools can be deep, but not endless).</summary>
    public const int MaxDepth = 256;

    /// <summary>
    /// Reads the whole document (so that malformed JSON is caught here, before anything is counted) but
    /// keeps only the top-level <c>model</c>, <c>stream</c>, <c>stream_options.include_usage</c>, the token cap and
    /// the number of choices, checking the values Sluice relies on as OpenAI does.
    /// </summary>
    /// <exception cref="JsonException">The body is not a JSON object, or not UTF-8.</exception>
    /// <exception cref="InvalidRequestException">A field Sluice relies on has a value OpenAI would refuse.</exception>
    public static RequestSummary Parse(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            throw new JsonException("The request body is not valid UTF-8.");
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = MaxDepth });
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
        var choices = 1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = ReadModel(ref reader);
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
                maxTokens = ReadPositive(ref reader, "max_tokens", int.MaxValue);
            }
            else if (reader.ValueTextEquals("max_completion_tokens"u8) || reader.ValueTextEquals("max_output_tokens"u8))
            {
                var name = reader.GetString()!;
                reader.Read();
                maxCompletionTokens = ReadPositive(ref reader, name, int.MaxValue);
            }
            else if (reader.ValueTextEquals("n"u8))
            {
                reader.Read();
                choices = ReadPositive(ref reader, "n", 128) ?? 1;
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                hasStreamOptions = true;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    includeUsage = ReadIncludeUsage(ref reader);
                }
                else if (reader.TokenType == JsonTokenType.Null)
                {
                    includeUsage = false;
                }
                else
                {
                    throw new InvalidRequestException("Invalid type for 'stream_options': expected an object, but got another type.", "stream_options", "invalid_type");
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
        return new RequestSummary(model, stream, hasStreamOptions, includeUsage, maxCompletionTokens ?? maxTokens, choices);
    }

    private static string? ReadModel(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidRequestException("Invalid type for 'model': expected a string.", "model", "invalid_type");
        }
        if (reader.ValueSpan.Length > MaxModelLength * 6)
        {
            throw TooLong();
        }
        string model;
        try
        {
            model = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800"): not text.
            throw new InvalidRequestException("Invalid value for 'model': it is not valid text.", "model", "invalid_value");
        }
        return model.Length > MaxModelLength ? throw TooLong() : model;

        static InvalidRequestException TooLong() =>
            new($"Invalid value for 'model': model names are at most {MaxModelLength} characters.", "model", "invalid_value");
    }

    /// <summary>An integer from 1 to <paramref name="max"/>, or null when absent (JSON null).</summary>
    private static int? ReadPositive(ref Utf8JsonReader reader, string name, int max)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
        {
            reader.Skip();
            throw new InvalidRequestException($"Invalid type for '{name}': expected an integer.", name, "invalid_type");
        }
        if (value < 1 || value > max)
        {
            throw new InvalidRequestException(
                $"Invalid value for '{name}': {value}. Expected an integer from 1 to {max}.", name, "invalid_value");
        }
        return (int)value;
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

/// <summary>A request OpenAI would refuse with 400 <c>invalid_request_error</c>: what is wrong, in which parameter.</summary>
internal sealed class InvalidRequestException(string message, string? param, string? code) : Exception(message)
{
    public string? Param { get; } = param;

    public string? Code { get; } = code;
}
