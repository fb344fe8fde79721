using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Sluice.FakeUpstream;

/// <summary>One request to an OpenAI endpoint while the fake answers it.</summary>
internal sealed class Exchange(FakeUpstreamServer server, HttpContext context, int generation)
{
    public FakeUpstreamServer Server => server;

    /// <summary>The request header that makes the fake answer without any <c>usage</c>, like a provider that never reports it.</summary>
    public const string UsageHeaderName = "x-fake-usage";

    /// <summary>True when the client sent <c>x-fake-usage: none</c>: no usage in the answer, streamed or not.</summary>
    public bool OmitUsage => context.Request.Headers[UsageHeaderName] == "none";

    /// <summary>
    /// Counts the usage reports instead of the true ones, from <c>x-fake-usage: prompt_tokens=-5,completion_tokens=1e30</c>:
    /// an upstream that reports nonsense (each value a JSON number, written as given).
    /// </summary>
    public IReadOnlyDictionary<string, string>? ReportedUsage
    {
        get
        {
            var header = context.Request.Headers[UsageHeaderName].ToString();
            if (header.Length == 0 || header == "none")
            {
                return null;
            }
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var (name, value) = pair.Split('=', 2, StringSplitOptions.TrimEntries) is [var n, var v] ? (n, v) : (pair, "");
                if (!System.Text.RegularExpressions.Regex.IsMatch(value, "^-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?$"))
                {
                    throw new FormatException($"{UsageHeaderName}: '{pair}' is not name=number");
                }
                values[name] = value;
            }
            return values;
        }
    }

    public HttpContext Context => context;

    public FakeUpstreamOptions Options => server.Options;

    public CancellationToken Aborted => context.RequestAborted;

    public long Started { get; } = Stopwatch.GetTimestamp();

    public int Generation => generation;

    public RecordEntry? Entry { get; set; }

    /// <summary>From an injected cut-after failure: how many SSE events (stream) to send, or send half the body.</summary>
    public int? CutAfterChunks { get; set; }

    /// <summary>The fake aborted the connection itself (cut-after): not a client cancellation.</summary>
    public bool SelfAborted { get; private set; }

    public void Abort()
    {
        SelfAborted = true;
        context.Abort();
    }

    /// <summary>Status, OpenAI's headers and a JSON body (copied before returning unless the answer is cut).</summary>
    public Task SendJsonAsync(int status, ReadOnlySpan<byte> json)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        OpenAiHeaders.Apply(this);
        if (CutAfterChunks is not null)
        {
            return SendHalfAndAbortAsync(json.ToArray());
        }
        response.BodyWriter.Write(json);
        return Task.CompletedTask;
    }

    private async Task SendHalfAndAbortAsync(byte[] json)
    {
        await context.Response.BodyWriter.WriteAsync(json.AsMemory(0, json.Length / 2), Aborted);
        Abort();
    }
}

/// <summary>The headers OpenAI puts on every answer, including its own rate-limit headers that a gateway must not
/// pass on to its clients.</summary>
internal static class OpenAiHeaders
{
    private static readonly StringValues Organization = "fake-org";
    private static readonly StringValues Project = "proj_fake";
    private static readonly StringValues Version = "2020-10-01";
    private static readonly StringValues LimitRequests = "10000";
    private static readonly StringValues RemainingRequests = "9999";
    private static readonly StringValues ResetRequests = "6ms";
    private static readonly StringValues LimitTokens = "30000000";
    private static readonly StringValues RemainingTokens = "29999990";
    private static readonly StringValues ResetTokens = "0s";
    private static readonly StringValues Cookie = "__cf_bm=fake; path=/; HttpOnly";
    private static readonly StringValues Expose = "X-Request-ID";
    private static readonly StringValues CacheStatus = "DYNAMIC";
    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues Hsts = "max-age=31536000; includeSubDomains; preload";
    private static readonly StringValues AltSvc = "h3=\":443\"; ma=86400";
    private static readonly StringValues Server = "cloudflare";

    public static void Apply(Exchange exchange)
    {
        var headers = exchange.Context.Response.Headers;
        headers["x-request-id"] = Ids.RequestId();
        headers["openai-processing-ms"] = ((long)Stopwatch.GetElapsedTime(exchange.Started).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        headers["openai-organization"] = Organization;
        headers["openai-project"] = Project;
        headers["openai-version"] = Version;
        headers["x-ratelimit-limit-requests"] = LimitRequests;
        headers["x-ratelimit-remaining-requests"] = exchange.Context.Response.StatusCode == StatusCodes.Status429TooManyRequests ? "0" : RemainingRequests;
        headers["x-ratelimit-reset-requests"] = ResetRequests;
        headers["x-ratelimit-limit-tokens"] = LimitTokens;
        headers["x-ratelimit-remaining-tokens"] = RemainingTokens;
        headers["x-ratelimit-reset-tokens"] = ResetTokens;
        headers.SetCookie = Cookie;
        headers.AccessControlExposeHeaders = Expose;
        headers.StrictTransportSecurity = Hsts;
        headers.XContentTypeOptions = NoSniff;
        headers["cf-cache-status"] = CacheStatus;
        // Cloudflare's, in front of api.openai.com: HTTP/3 on port 443 of the host that answered, and the edge's request id.
        headers.AltSvc = AltSvc;
        headers.Server = Server;
        headers["cf-ray"] = Ids.Ray();
    }
}

/// <summary>Random identifiers shaped like OpenAI's.</summary>
internal static class Ids
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>req_ and 32 hex digits.</summary>
    public static string RequestId() => string.Create(36, 0, static (span, _) =>
    {
        "req_".CopyTo(span);
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        Convert.TryToHexStringLower(bytes, span[4..], out _);
    });

    /// <summary><paramref name="prefix"/> and 29 letters or digits, e.g. chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT.</summary>
    public static string Completion(string prefix) => string.Create(prefix.Length + 29, prefix, static (span, prefix) =>
    {
        prefix.CopyTo(span);
        Random.Shared.GetItems(Alphanumeric.AsSpan(), span[prefix.Length..]);
    });

    /// <summary>16 hex digits and an edge location, e.g. 8f1c2a3b4d5e6f70-SJC, as Cloudflare's <c>cf-ray</c>.</summary>
    public static string Ray() => string.Create(20, 0, static (span, _) =>
    {
        Span<byte> bytes = stackalloc byte[8];
        Random.Shared.NextBytes(bytes);
        Convert.TryToHexStringLower(bytes, span, out _);
        "-SJC".CopyTo(span[16..]);
    });

    public static long UnixNow() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
}
