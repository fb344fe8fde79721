using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Sluice.Core.Models;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Plans;

namespace Sluice.Gateway.Inspection;

/// <summary>
/// Reads a JSON request body into a pooled buffer, checks that it is JSON and notes its model and stream
/// flag; the same bytes are then forwarded unchanged. Other bodies (multipart uploads) stream through
/// untouched. Bad or oversized bodies are refused here, before anything is counted.
/// </summary>
internal sealed class RequestBodyMiddleware
{
    private const string ModerationsPath = "/v1/moderations";
    private const string DefaultModerationModel = "omni-moderation-latest";

    private readonly RequestDelegate _next;
    private readonly long _maxBytes;

    public RequestBodyMiddleware(RequestDelegate next, IOptions<RelayOptions> options)
    {
        _next = next;
        _maxBytes = options.Value.MaxRequestBodyBytes;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HasBody(request.Method))
        {
            return _next(context);
        }
        if (IsEncoded(request.Headers.ContentEncoding))
        {
            // Neither read here nor sent on as the upstream expects: refused rather than forwarded unchecked.
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType,
                $"This server does not accept compressed request bodies (Content-Encoding: {request.Headers.ContentEncoding}). Send the body uncompressed.",
                OpenAIErrors.InvalidRequest, "unsupported_content_encoding");
        }
        if (!IsForm(request.ContentType))
        {
            return InspectAsync(context);
        }
        // A form where the API takes only JSON would skip every check on the body: OpenAI reads no model from it either.
        return TakesOnlyJson(request.Path)
            ? OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"you must provide a model parameter (this endpoint takes a JSON body, and it was sent as {request.ContentType}: send it with Content-Type: application/json)",
                OpenAIErrors.InvalidRequest, null)
            : _next(context);
    }

    private async Task InspectAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength > _maxBytes)
        {
            await TooLarge(context);
            return;
        }
        var body = await ReadAsync(request, context.RequestAborted);
        if (body is null)
        {
            await TooLarge(context);
            return;
        }
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        try
        {
            if (await SummaryOrRefusalAsync(context, body) is not { } summary)
            {
                return;
            }
            feature.Model = ModelOf(summary, request.Path);
            feature.Stream = summary.Stream;
            feature.HasStreamOptions = summary.HasStreamOptions;
            feature.ClientAskedForUsage = summary.IncludeUsage;
            feature.MaxTokens = summary.MaxTokens;
            feature.Choices = summary.Choices;
            feature.Body = body.Array.AsMemory(0, body.Length);
            request.Body = new MemoryStream(body.Array, 0, body.Length, writable: false);
            await _next(context);
        }
        finally
        {
            // Given back to the pool when the call is over: everything after this step (forwarding, metering) is done with it.
            feature.Body = default;
            body.Dispose();
        }
    }

    /// <summary>What the body says; null when it was refused here (the 400 is written). A ValueTask: a body that parses
    /// completes synchronously and allocates nothing.</summary>
    private static async ValueTask<RequestSummary?> SummaryOrRefusalAsync(HttpContext context, PooledBody body)
    {
        RequestSummary summary;
        try
        {
            summary = RequestSummary.Parse(body.Span);
        }
        catch (JsonException) when (body.Length == 0)
        {
            await MissingModel(context);
            return null;
        }
        catch (JsonException)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                OpenAIErrors.InvalidRequest, null);
            return null;
        }
        catch (InvalidRequestException invalid)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest, invalid.Message, OpenAIErrors.InvalidRequest, invalid.Code, invalid.Param);
            return null;
        }
        if (ModelOf(summary, context.Request.Path) is null)
        {
            await MissingModel(context);
            return null;
        }
        return summary;
    }

    /// <summary>The body's model; a moderation call may leave it out, and OpenAI (so the plan's rules too) then uses
    /// omni-moderation-latest.</summary>
    private static string? ModelOf(RequestSummary summary, PathString path) =>
        summary.Model ?? (path.StartsWithSegments(ModerationsPath, StringComparison.Ordinal) ? DefaultModerationModel : null);

    private static Task MissingModel(HttpContext context) =>
        OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
            "you must provide a model parameter", OpenAIErrors.InvalidRequest, null);

    /// <summary>
    /// Every body sent with POST, PUT or PATCH is read as the JSON the OpenAI API expects, whatever its declared
    /// type (so that no plan rule can be skipped by leaving out <c>Content-Type</c>), except form uploads
    /// (<c>multipart/form-data</c>, e.g. audio files), which stream through untouched where the API takes them.
    /// </summary>
    private static bool HasBody(string method) => HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method);

    /// <summary>The endpoints whose body is always JSON (a form there is refused, not streamed through): the chat and
    /// embedding families, and moderations.</summary>
    private static bool TakesOnlyJson(PathString path) =>
        ModelFamilies.Of(path) is ModelFamily.Chat or ModelFamily.Embeddings
        || path.StartsWithSegments(ModerationsPath, StringComparison.Ordinal);

    /// <summary>A <c>Content-Encoding</c> other than <c>identity</c>.</summary>
    private static bool IsEncoded(Microsoft.Extensions.Primitives.StringValues encoding)
    {
        foreach (var value in encoding)
        {
            if (!string.IsNullOrWhiteSpace(value) && !value.Trim().Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary><c>multipart/…</c> or <c>application/x-www-form-urlencoded</c>.</summary>
    internal static bool IsForm(ReadOnlySpan<char> contentType)
    {
        contentType = contentType.Trim();
        return contentType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads the body; null when it is larger than allowed.</summary>
    private async Task<PooledBody?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var expected = request.ContentLength ?? 16 * 1024;
        var body = new PooledBody((int)Math.Clamp(expected, 256, _maxBytes));
        try
        {
            while (true)
            {
                var capacity = (int)Math.Min(body.Array.Length, _maxBytes);
                if (body.Length == capacity)
                {
                    if (capacity >= _maxBytes)
                    {
                        // One more byte would be over the limit: check whether there is one.
                        var probe = new byte[1];
                        if (await request.Body.ReadAsync(probe, cancellationToken) > 0)
                        {
                            body.Dispose();
                            return null;
                        }
                        return body;
                    }
                    body.Grow((int)Math.Min(_maxBytes, (long)body.Array.Length * 2));
                    capacity = (int)Math.Min(body.Array.Length, _maxBytes);
                }
                var read = await request.Body.ReadAsync(body.Array.AsMemory(body.Length, capacity - body.Length), cancellationToken);
                if (read == 0)
                {
                    return body;
                }
                body.Length += read;
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private Task TooLarge(HttpContext context) =>
        OpenAIErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
            $"The request body is larger than this server accepts ({_maxBytes} bytes).", OpenAIErrors.InvalidRequest, "request_too_large");

    /// <summary>A body read into a rented array; returned to the pool when the request ends.</summary>
    private sealed class PooledBody : IDisposable
    {
        public PooledBody(int capacity)
        {
            Array = ArrayPool<byte>.Shared.Rent(capacity);
        }

        public byte[] Array { get; private set; }

        public int Length { get; set; }

        public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

        public void Grow(int capacity)
        {
            var larger = ArrayPool<byte>.Shared.Rent(capacity);
            Array.AsSpan(0, Length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(Array);
            Array = larger;
        }

        public void Dispose()
        {
            var array = Array;
            Array = [];
            if (array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
