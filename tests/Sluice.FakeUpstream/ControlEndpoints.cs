using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Sluice.FakeUpstream;

/// <summary><c>/_fake/*</c>: control of a fake started from the command line. Not recorded, not delayed, no API key.
/// <list type="bullet">
/// <item><c>GET /_fake/stats</c> → <c>{"requests":N,"canceled":N,"active":N}</c></item>
/// <item><c>POST /_fake/failure</c> with a <see cref="FakeFailure"/> as JSON (<c>status</c>, <c>hang</c>,
/// <c>cutAfterChunks</c>, <c>times</c>) sets the server-wide failure; <c>DELETE</c> clears it; <c>GET</c> shows it.</item>
/// <item><c>POST /_fake/reset</c>: <see cref="FakeUpstreamServer.Reset"/>.</item>
/// <item><c>GET /_fake/options</c>; <c>POST /_fake/options</c> with any of <c>latencyMs</c>, <c>chunkDelayMs</c>,
/// <c>replyWords</c>, <c>quiet</c>, <c>recordRequests</c>.</item>
/// <item><c>GET /_fake/requests</c> → the recorded requests without bodies: <c>[{"method","pathAndQuery","canceled","bodyBytes"}]</c>.</item>
/// </list></summary>
internal static class ControlEndpoints
{
    public static async Task HandleAsync(FakeUpstreamServer server, HttpContext context, string path)
    {
        var method = context.Request.Method;
        switch (path)
        {
            case "/_fake/stats" when HttpMethods.IsGet(method):
                await SendAsync(context, 200, writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("requests", server.RequestCount);
                    writer.WriteNumber("canceled", server.CanceledCount);
                    writer.WriteNumber("active", server.ActiveRequests);
                    writer.WriteEndObject();
                });
                return;
            case "/_fake/failure" when HttpMethods.IsGet(method):
                await SendAsync(context, 200, writer => WriteFailure(writer, server.Failure));
                return;
            case "/_fake/failure" when HttpMethods.IsDelete(method):
                server.Failure = null;
                context.Response.StatusCode = 204;
                return;
            case "/_fake/failure" when HttpMethods.IsPost(method) || HttpMethods.IsPut(method):
                await SetFailureAsync(server, context);
                return;
            case "/_fake/reset" when HttpMethods.IsPost(method):
                server.Reset();
                context.Response.StatusCode = 204;
                return;
            case "/_fake/options" when HttpMethods.IsGet(method):
                await SendAsync(context, 200, writer => WriteOptions(writer, server.Options));
                return;
            case "/_fake/options" when HttpMethods.IsPost(method):
                await SetOptionsAsync(server, context);
                return;
            case "/_fake/requests" when HttpMethods.IsGet(method):
                await SendAsync(context, 200, writer =>
                {
                    writer.WriteStartArray();
                    foreach (var entry in server.RecordedEntries())
                    {
                        writer.WriteStartObject();
                        writer.WriteString("method", entry.Method);
                        writer.WriteString("pathAndQuery", entry.PathAndQuery);
                        writer.WriteBoolean("canceled", entry.Canceled);
                        writer.WriteNumber("bodyBytes", entry.BodyLength);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                });
                return;
            default:
                await SendErrorAsync(context, 404, $"No fake control endpoint {method} {path}.");
                return;
        }
    }

    private static async Task SetFailureAsync(FakeUpstreamServer server, HttpContext context)
    {
        using var document = await ReadObjectAsync(context);
        if (document is null)
        {
            return;
        }
        FakeFailure failure;
        string? unknown = null;
        try
        {
            failure = ParseFailure(document.RootElement, out unknown);
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException)
        {
            await SendErrorAsync(context, 400, "Invalid failure: " + exception.Message);
            return;
        }
        if (unknown is not null)
        {
            await SendErrorAsync(context, 400, $"Unknown failure property '{unknown}'.");
            return;
        }
        try
        {
            server.Failure = failure;
        }
        catch (ArgumentOutOfRangeException exception)
        {
            await SendErrorAsync(context, 400, exception.Message);
            return;
        }
        await SendAsync(context, 200, writer => WriteFailure(writer, failure));
    }

    private static FakeFailure ParseFailure(JsonElement json, out string? unknown)
    {
        unknown = null;
        var failure = new FakeFailure();
        foreach (var property in json.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant())
            {
                case "status":
                    failure = failure with { Status = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32() };
                    break;
                case "retryafter":
                    failure = failure with { RetryAfter = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32() };
                    break;
                case "hang":
                    failure = failure with { Hang = value.ValueKind == JsonValueKind.True };
                    break;
                case "cutafterchunks" or "cutafter":
                    failure = failure with { CutAfterChunks = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32() };
                    break;
                case "times":
                    failure = failure with { Times = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32() };
                    break;
                default:
                    unknown = property.Name;
                    return failure;
            }
        }
        return failure;
    }

    private static async Task SetOptionsAsync(FakeUpstreamServer server, HttpContext context)
    {
        using var document = await ReadObjectAsync(context);
        if (document is null)
        {
            return;
        }
        var options = server.Options;
        // Validated whole before any option changes.
        var changes = new List<Action>();
        try
        {
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name.ToLowerInvariant())
                {
                    case "latencyms":
                        var latency = Milliseconds(value);
                        changes.Add(() => options.Latency = latency);
                        break;
                    case "chunkdelayms":
                        var chunkDelay = Milliseconds(value);
                        changes.Add(() => options.ChunkDelay = chunkDelay);
                        break;
                    case "replywords":
                        var words = value.GetInt32();
                        ArgumentOutOfRangeException.ThrowIfNegative(words, "replyWords");
                        changes.Add(() => options.ReplyWords = words);
                        break;
                    case "quiet":
                        var quiet = value.GetBoolean();
                        changes.Add(() => options.Quiet = quiet);
                        break;
                    case "recordrequests":
                        var record = value.GetBoolean();
                        changes.Add(() => options.RecordRequests = record);
                        break;
                    default:
                        await SendErrorAsync(context, 400, $"Unknown option '{property.Name}'.");
                        return;
                }
            }
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException or ArgumentException)
        {
            await SendErrorAsync(context, 400, "Invalid options: " + exception.Message);
            return;
        }
        changes.ForEach(change => change());
        await SendAsync(context, 200, writer => WriteOptions(writer, options));
    }

    private static TimeSpan Milliseconds(JsonElement value)
    {
        var milliseconds = value.GetDouble();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, "milliseconds");
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>The body as a JSON object, or null after answering 400.</summary>
    private static async Task<JsonDocument?> ReadObjectAsync(HttpContext context)
    {
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }
            document.Dispose();
        }
        catch (JsonException)
        {
        }
        await SendErrorAsync(context, 400, "Expected a JSON object.");
        return null;
    }

    private static void WriteFailure(Utf8JsonWriter writer, FakeFailure? failure)
    {
        if (failure is null)
        {
            writer.WriteNullValue();
            return;
        }
        writer.WriteStartObject();
        WriteNullable(writer, "status", failure.Status);
        WriteNullable(writer, "retryAfter", failure.RetryAfter);
        writer.WriteBoolean("hang", failure.Hang);
        WriteNullable(writer, "cutAfterChunks", failure.CutAfterChunks);
        WriteNullable(writer, "times", failure.Times);
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteOptions(Utf8JsonWriter writer, FakeUpstreamOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("latencyMs", options.Latency.TotalMilliseconds);
        writer.WriteNumber("chunkDelayMs", options.ChunkDelay.TotalMilliseconds);
        writer.WriteNumber("replyWords", options.ReplyWords);
        writer.WriteBoolean("quiet", options.Quiet);
        writer.WriteBoolean("recordRequests", options.RecordRequests);
        writer.WriteBoolean("apiKeyRequired", options.ExpectedApiKey is not null);
        writer.WriteEndObject();
    }

    private static Task SendErrorAsync(HttpContext context, int status, string message) => SendAsync(context, status, writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", "fake_control_error");
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    private static async Task SendAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            write(writer);
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}
