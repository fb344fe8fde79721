using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>A per-thread JSON buffer for bodies built synchronously (no reflection, no per-request buffer).
/// <see cref="Finish"/>'s span is valid until the next <see cref="Start"/> on the same thread: copy it before any await.</summary>
internal static class Json
{
    /// <summary>OpenAI writes quotes and backticks as they are, not as \u0027 / \u0060.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    public static Utf8JsonWriter Start()
    {
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = _writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        return writer;
    }

    public static ReadOnlySpan<byte> Finish(Utf8JsonWriter writer)
    {
        writer.Flush();
        return _buffer!.WrittenSpan;
    }

    public static void WriteNullableString(this Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>"a string", "an integer", … as in OpenAI's "Invalid type for 'x': expected …, but got … instead."</summary>
    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => element.TryGetInt64(out _) ? "an integer" : "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => "an unknown value",
    };

    public static bool IsTrue(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
