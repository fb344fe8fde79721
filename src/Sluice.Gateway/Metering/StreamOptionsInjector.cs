using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Hosting;

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

    /// <summary>The client sent stream_options without include_usage: set it in the object.</summary>
    private static byte[] Rewrite(ReadOnlySpan<byte> body)
    {
        var root = JsonNode.Parse(body)!.AsObject();
        if (root["stream_options"] is JsonObject options)
        {
            options["include_usage"] = true;
        }
        else
        {
            root["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
        return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
