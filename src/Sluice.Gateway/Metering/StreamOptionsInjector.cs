using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Inspection;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Asks the upstream for the usage of a stream the client did not ask it for, by setting
/// <c>stream_options.include_usage</c> in the forwarded body; the usage chunk is then taken out of the answer again.
/// </summary>
internal static class StreamOptionsInjector
{
    private static ReadOnlySpan<byte> Member => "\"stream_options\":{\"include_usage\":true}"u8;

    /// <summary>Whether Sluice should ask for usage on this call: a stream, to an endpoint that takes stream_options.</summary>
    public static bool Applies(HttpRequest request, SluiceRequestFeature feature) =>
        feature.Stream && !feature.ClientAskedForUsage && !feature.Body.IsEmpty
        && (request.Path.StartsWithSegments("/v1/chat/completions", StringComparison.Ordinal)
            || request.Path.StartsWithSegments("/v1/completions", StringComparison.Ordinal));

    public static void Inject(HttpRequest request, SluiceRequestFeature feature)
    {
        var body = feature.HasStreamOptions ? Rewrite(feature.Body.Span) : Insert(feature.Body.Span);
        feature.Body = body;
        request.Body = new MemoryStream(body, writable: false);
        request.ContentLength = body.Length;
        request.Headers.Remove("Transfer-Encoding");
    }

    /// <summary>Adds the member right after the opening brace; the rest of the body is kept byte for byte.</summary>
    private static byte[] Insert(ReadOnlySpan<byte> body)
    {
        var open = body.IndexOf((byte)'{');
        var rest = body[(open + 1)..];
        var empty = rest.TrimStart(" \t\r\n"u8) is { Length: > 0 } after && after[0] == (byte)'}';
        var result = new byte[body.Length + Member.Length + (empty ? 0 : 1)];
        body[..(open + 1)].CopyTo(result);
        Member.CopyTo(result.AsSpan(open + 1));
        var at = open + 1 + Member.Length;
        if (!empty)
        {
            result[at++] = (byte)',';
        }
        rest.CopyTo(result.AsSpan(at));
        return result;
    }

    /// <summary>
    /// The client sent <c>stream_options</c> (an object without <c>include_usage</c>, or null): the body is rebuilt from
    /// its own bytes — every other member exactly as sent, duplicates included — with one <c>stream_options</c> at the
    /// end that keeps the client's options (of its last <c>stream_options</c>, the one that counts) and sets
    /// <c>include_usage</c>.
    /// </summary>
    private static byte[] Rewrite(ReadOnlySpan<byte> body)
    {
        var members = Members(body, "stream_options"u8, out var options);
        var result = new ArrayBufferWriter<byte>(body.Length + 64);
        result.Write("{"u8);
        foreach (var member in members)
        {
            result.Write(body[member]);
            result.Write(","u8);
        }
        result.Write("\"stream_options\":{"u8);
        if (options is { } value && body[value] is [(byte)'{', ..] optionsObject)
        {
            foreach (var member in Members(optionsObject, "include_usage"u8, out _))
            {
                result.Write(optionsObject[member]);
                result.Write(","u8);
            }
        }
        result.Write("\"include_usage\":true}}"u8);
        return result.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The byte ranges of an object's members (<c>"name":value</c>) other than <paramref name="except"/>, and the range
    /// of the last value of <paramref name="except"/>. The object has been checked to be valid JSON.
    /// </summary>
    private static List<Range> Members(ReadOnlySpan<byte> json, ReadOnlySpan<byte> except, out Range? exceptValue)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = RequestSummary.MaxDepth });
        reader.Read();
        var members = new List<Range>();
        exceptValue = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var start = (int)reader.TokenStartIndex;
            var skip = reader.ValueTextEquals(except);
            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (skip)
            {
                exceptValue = valueStart..end;
            }
            else
            {
                members.Add(start..end);
            }
        }
        return members;
    }
}
