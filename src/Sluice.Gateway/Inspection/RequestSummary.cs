using System.Text.Json;

namespace Sluice.Gateway.Inspection;

/// <summary>The top-level fields of an OpenAI request body that Sluice acts on.</summary>
internal readonly record struct RequestSummary(string? Model, bool Stream)
{
    /// <summary>
    /// Reads the whole document (so that malformed JSON is caught here, before anything is counted) but
    /// keeps only the top-level <c>model</c> and <c>stream</c>.
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
        return new RequestSummary(model, stream);
    }
}
