using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Sluice.FakeUpstream;

/// <summary>Every request: <c>/_fake/*</c> goes to <see cref="ControlEndpoints"/>; any other is counted, read whole,
/// recorded, delayed by the latency, checked for the API key, failed if a failure is injected, then routed.</summary>
internal sealed class Pipeline(FakeUpstreamServer server)
{
    public async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith("/_fake/", StringComparison.Ordinal))
        {
            await ControlEndpoints.HandleAsync(server, context, path);
            return;
        }
        var exchange = server.Begin(context);
        try
        {
            var body = await ReadBodyAsync(context);
            if (server.Options.RecordRequests)
            {
                server.Record(exchange, Entry(context, body));
            }
            await AnswerAsync(exchange, path, body);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (or the fake aborted the connection itself).
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while the body was being read.
        }
        finally
        {
            // The last bytes of an answer are flushed by the server after this point, so a client that went away
            // now had not received the whole answer.
            var canceled = context.RequestAborted.IsCancellationRequested && !exchange.SelfAborted && !server.Stopping;
            server.End(exchange, canceled);
        }
    }

    private async Task AnswerAsync(Exchange exchange, string path, byte[] body)
    {
        var context = exchange.Context;
        var options = server.Options;
        if (options.Latency > TimeSpan.Zero)
        {
            await Task.Delay(options.Latency, exchange.Aborted);
        }
        if (options.ExpectedApiKey is { } key && !HasKey(context.Request, key, out var provided))
        {
            await OpenAiErrors.InvalidApiKeyAsync(exchange, provided);
            return;
        }

        FakeFailure? failure;
        if (context.Request.Headers.TryGetValue(FakeFailure.HeaderName, out var header))
        {
            if (!FakeFailure.TryParseHeader(header.ToString(), out failure, out var error))
            {
                await OpenAiErrors.SendAsync(exchange, 400, error!, OpenAiErrors.InvalidRequest);
                return;
            }
        }
        else
        {
            failure = server.TakeFailure();
        }
        if (failure is not null)
        {
            if (failure.Hang)
            {
                await Task.Delay(Timeout.Infinite, exchange.Aborted);
                return;
            }
            if (failure.Status is { } status)
            {
                if (failure.RetryAfter is { } seconds)
                {
                    context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                if (failure.Html)
                {
                    context.Response.StatusCode = status;
                    context.Response.ContentType = "text/html";
                    await context.Response.WriteAsync($"<html><head><title>{status}</title></head><body><center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n", exchange.Aborted);
                    return;
                }
                await OpenAiErrors.InjectedAsync(exchange, status);
                return;
            }
            exchange.CutAfterChunks = failure.CutAfterChunks;
        }

        await RouteAsync(exchange, context.Request.Method, path, body);
    }

    private static Task RouteAsync(Exchange exchange, string method, string path, byte[] body)
    {
        if (HttpMethods.IsPost(method))
        {
            switch (path)
            {
                case "/v1/chat/completions":
                    return ChatCompletions.HandleAsync(exchange, body);
                case "/v1/completions":
                    return LegacyCompletions.HandleAsync(exchange, body);
                case "/v1/embeddings":
                    return Embeddings.HandleAsync(exchange, body);
                case "/v1/moderations":
                    return Moderations.HandleAsync(exchange, body);
            }
        }
        else if (HttpMethods.IsGet(method))
        {
            if (path == "/v1/models")
            {
                return Models.ListAsync(exchange);
            }
            if (path.StartsWith("/v1/models/", StringComparison.Ordinal))
            {
                return Models.RetrieveAsync(exchange, path["/v1/models/".Length..]);
            }
        }
        return OpenAiErrors.InvalidUrlAsync(exchange);
    }

    private static bool HasKey(HttpRequest request, string key, out string? provided)
    {
        provided = null;
        var authorization = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (!authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        provided = authorization[Bearer.Length..].Trim();
        if (provided.Length == 0)
        {
            provided = null;
            return false;
        }
        return provided == key;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return [];
        }
        if (request.ContentLength is { } length and <= int.MaxValue)
        {
            var body = new byte[length];
            await request.Body.ReadExactlyAsync(body, context.RequestAborted);
            return body;
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    private static RecordEntry Entry(HttpContext context, byte[] body)
    {
        var request = context.Request;
        var headers = new Dictionary<string, string>(request.Headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.Count == 1 ? values[0] ?? "" : string.Join(", ", values.ToArray());
        }
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target))
        {
            target = request.Path.Value + request.QueryString.Value;
        }
        return new RecordEntry(request.Method, target, headers, body, request.Protocol);
    }
}
