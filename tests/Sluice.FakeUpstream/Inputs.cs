using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>A prompt or embeddings input: a string, an array of strings, an array of token integers, or an array of
/// such arrays.</summary>
internal static class Inputs
{
    /// <summary>Words in strings plus integers in token arrays (see <see cref="Tokens"/>); -1 when the shape is wrong.</summary>
    public static int CountTokens(JsonElement input)
    {
        var total = 0;
        foreach (var item in Items(input))
        {
            if (item.ValueKind == JsonValueKind.Undefined)
            {
                return -1;
            }
            total += item.ValueKind == JsonValueKind.String ? Tokens.CountWords(item) : item.GetArrayLength();
        }
        return total;
    }

    /// <summary>The separate inputs: strings, or arrays of integers; an Undefined element marks a wrong shape.</summary>
    public static List<JsonElement> Items(JsonElement input)
    {
        var items = new List<JsonElement>();
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                items.Add(input);
                break;
            case JsonValueKind.Array when input.GetArrayLength() > 0 && input[0].ValueKind == JsonValueKind.Number:
                items.Add(IsTokenArray(input) ? input : default);
                break;
            case JsonValueKind.Array:
                foreach (var item in input.EnumerateArray())
                {
                    items.Add(item.ValueKind == JsonValueKind.String || IsTokenArray(item) ? item : default);
                }
                break;
            default:
                items.Add(default);
                break;
        }
        return items;
    }

    private static bool IsTokenArray(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            return false;
        }
        foreach (var token in element.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Number || !token.TryGetInt32(out _))
            {
                return false;
            }
        }
        return true;
    }
}
