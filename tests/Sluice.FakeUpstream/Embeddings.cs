using System.Buffers.Binary;
using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>POST /v1/embeddings: per input a deterministic unit vector (8 floats unless <c>dimensions</c> says
/// otherwise) derived from a hash of the input; <c>encoding_format: "base64"</c> gives little-endian float32s.</summary>
internal static class Embeddings
{
    private const int DefaultDimensions = 8;
    private const int MaxDimensions = 3072;
    private const int MaxInputs = 2048;

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
                || !RequestFields.TryPositiveInt(exchange, root, "dimensions", out var dimensions, out error))
            {
                return error;
            }
            if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            {
                return OpenAiErrors.MissingParameterAsync(exchange, "input");
            }
            var items = Inputs.Items(input);
            if (items.Count is 0 or > MaxInputs || items.Exists(IsEmptyOrWrong))
            {
                return OpenAiErrors.SendAsync(exchange, 400,
                    "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
                    OpenAiErrors.InvalidRequest);
            }
            if (dimensions > MaxDimensions)
            {
                return OpenAiErrors.SendAsync(exchange, 400,
                    $"Invalid 'dimensions': integer above maximum value. Expected a value <= {MaxDimensions}, but got {dimensions} instead.",
                    OpenAiErrors.InvalidRequest, "dimensions", "integer_above_max_value");
            }
            if (RequestFields.IsUnknownModel(model))
            {
                return OpenAiErrors.ModelNotFoundAsync(exchange, model);
            }
            var base64 = root.TryGetProperty("encoding_format", out var format) && format.ValueKind == JsonValueKind.String && format.ValueEquals("base64"u8);
            return SendAsync(exchange, model, items, dimensions ?? DefaultDimensions, base64);
        }
    }

    private static bool IsEmptyOrWrong(JsonElement item) => item.ValueKind switch
    {
        JsonValueKind.String => item.GetString()!.Length == 0,
        JsonValueKind.Array => item.GetArrayLength() == 0,
        _ => true,
    };

    private static Task SendAsync(Exchange exchange, string model, List<JsonElement> items, int dimensions, bool base64)
    {
        Span<float> vector = dimensions <= 256 ? stackalloc float[dimensions] : new float[dimensions];
        var tokens = 0;
        var writer = Json.Start();
        writer.WriteStartObject();
        writer.WriteString("object"u8, "list"u8);
        writer.WriteStartArray("data"u8);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            tokens += item.ValueKind == JsonValueKind.String ? Tokens.CountWords(item) : item.GetArrayLength();
            Fill(vector, Hash(item));
            writer.WriteStartObject();
            writer.WriteString("object"u8, "embedding"u8);
            writer.WriteNumber("index"u8, i);
            if (base64)
            {
                var bytes = new byte[dimensions * sizeof(float)];
                for (var d = 0; d < dimensions; d++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
                }
                writer.WriteBase64String("embedding"u8, bytes);
            }
            else
            {
                writer.WriteStartArray("embedding"u8);
                foreach (var value in vector)
                {
                    writer.WriteNumberValue(value);
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteString("model"u8, model);
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("prompt_tokens"u8, tokens);
        writer.WriteNumber("total_tokens"u8, tokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
        return exchange.SendJsonAsync(200, Json.Finish(writer));
    }

    /// <summary>FNV-1a over the string's UTF-16 code units, or over the token integers.</summary>
    private static ulong Hash(JsonElement item)
    {
        var hash = 14695981039346656037UL;
        if (item.ValueKind == JsonValueKind.String)
        {
            foreach (var c in item.GetString()!)
            {
                hash = (hash ^ c) * 1099511628211UL;
            }
        }
        else
        {
            foreach (var token in item.EnumerateArray())
            {
                hash = (hash ^ (uint)token.GetInt32()) * 1099511628211UL;
            }
        }
        return hash;
    }

    /// <summary>Splitmix64 values in [-1, 1], scaled to unit length.</summary>
    private static void Fill(Span<float> vector, ulong seed)
    {
        var state = seed;
        double norm = 0;
        for (var i = 0; i < vector.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var value = ((z >> 11) * (1.0 / (1UL << 53) * 2)) - 1;
            vector[i] = (float)value;
            norm += value * value;
        }
        var scale = norm > 0 ? 1 / Math.Sqrt(norm) : 0;
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(vector[i] * scale);
        }
    }
}
