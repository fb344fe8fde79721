using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Errors;

/// <summary>Writes errors the way OpenAI does: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class OpenAIErrors
{
    public const string InvalidRequest = "invalid_request_error";
    public const string ServerError = "server_error";

    /// <summary>Messages as OpenAI writes them (an apostrophe stays an apostrophe, not <c>\u0027</c>); the body is
    /// always <c>application/json</c>, never embedded in HTML, so HTML-sensitive characters need no escaping.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the error, with the call's id in <c>x-sluice-request-id</c> and, as OpenAI's own errors have
    /// it, in <c>x-request-id</c> (again: the exception handler clears the headers before it writes a 500).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message, string type, string? code, string? param = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (context.Features.Get<SluiceRequestFeature>() is { } call)
        {
            response.Headers[RequestIds.Header] = call.RequestId;
            response.Headers.TryAdd(RequestIds.OpenAIHeader, call.RequestId);
        }
        response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            Write(writer, message, type, code, param);
        }
        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void Write(Utf8JsonWriter writer, string message, string type, string? code, string? param)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }
        if (code is null)
        {
            writer.WriteNull("code");
        }
        else
        {
            writer.WriteString("code", code);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
