using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Inspection;

/// <summary>
/// Refuses an over-long request line (414) or over-large headers (431) with an OpenAI-shaped body, at Kestrel's
/// usual limits (8 KiB and 32 KiB). Kestrel itself would refuse them with an empty body and a closed connection;
/// its own limits are set higher (<see cref="KestrelRequestLineBytes"/>, <see cref="KestrelHeaderBytes"/>) so that
/// such requests reach this step. Beyond those, Kestrel still answers alone, with an empty body.
/// </summary>
public sealed class RequestSizeMiddleware
{
    public const int MaxRequestLineBytes = 8 * 1024;
    public const int MaxHeaderBytes = 32 * 1024;
    public const int KestrelRequestLineBytes = 64 * 1024;
    public const int KestrelHeaderBytes = 128 * 1024;

    private readonly RequestDelegate _next;

    public RequestSizeMiddleware(RequestDelegate next)
    {
        _next = next;
    }

    public Task InvokeAsync(HttpContext context)
    {
        // "GET /v1/models?… HTTP/1.1": the method, the target as sent, and the spaces and version around them.
        var line = context.Request.Method.Length + (context.Features.Get<IHttpRequestFeature>()?.RawTarget.Length ?? 0) + 10;
        if (line > MaxRequestLineBytes)
        {
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status414UriTooLong,
                string.Create(CultureInfo.InvariantCulture, $"The request URL is too long: the request line has {line:N0} bytes; at most {MaxRequestLineBytes:N0} are accepted."),
                OpenAIErrors.InvalidRequest, "url_too_long");
        }
        var headers = 0;
        foreach (var (name, values) in context.Request.Headers)
        {
            // "Name: value\r\n" for each value.
            foreach (var value in values)
            {
                headers += name.Length + (value?.Length ?? 0) + 4;
            }
        }
        if (headers > MaxHeaderBytes)
        {
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"The request headers are too large: {headers:N0} bytes; at most {MaxHeaderBytes:N0} are accepted."),
                OpenAIErrors.InvalidRequest, "request_headers_too_large");
        }
        return _next(context);
    }
}
