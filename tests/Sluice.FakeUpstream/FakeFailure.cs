namespace Sluice.FakeUpstream;

/// <summary>A failure the fake injects. When several are set, <see cref="Hang"/> wins over <see cref="Status"/>, which
/// wins over <see cref="CutAfterChunks"/>.</summary>
/// <remarks>Per request, a client sends the header <c>x-fake-failure</c> with one of <c>status=503</c> (with <c>html</c>: as an HTML page), <c>hang</c>,
/// <c>cut-after=3</c>, <c>retry-after=20</c> (several may be joined with <c>,</c> or <c>;</c>). Server-wide, a test sets
/// <see cref="FakeUpstreamServer.Failure"/> or a client POSTs this record as JSON to <c>/_fake/failure</c>. The header
/// wins over the server-wide failure and does not use up one of its <see cref="Times"/>.</remarks>
public sealed record FakeFailure
{
    /// <summary>Answer with this status (400-599) and a realistic OpenAI error body.</summary>
    public int? Status { get; init; }

    /// <summary>With <see cref="Status"/>: a <c>retry-after</c> header of this many seconds, as OpenAI sends on its 429s.</summary>
    public int? RetryAfter { get; init; }

    /// <summary>With <see cref="Status"/>: an HTML error page instead of OpenAI's JSON, as a proxy or load balancer in
    /// front of a provider sends it.</summary>
    public bool Html { get; init; }

    /// <summary>Never send response headers; wait until the client goes away.</summary>
    public bool Hang { get; init; }

    /// <summary>Stream: send this many server-sent events (the first, role-only chunk counts) and abort the connection,
    /// without <c>[DONE]</c>. Non-stream: send half of the body (with the full Content-Length) and abort.</summary>
    public int? CutAfterChunks { get; init; }

    /// <summary>Null: every request until cleared; else only the next this many requests.</summary>
    public int? Times { get; init; }

    /// <summary>Header name for a per-request failure.</summary>
    public const string HeaderName = "x-fake-failure";

    /// <summary>A failure from the <c>x-fake-failure</c> header value, or an error text.</summary>
    internal static bool TryParseHeader(string value, out FakeFailure? failure, out string? error)
    {
        failure = null;
        error = null;
        var result = new FakeFailure();
        foreach (var raw in value.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = raw.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? raw : raw[..equals]).Trim().ToLowerInvariant();
            var argument = equals < 0 ? null : raw[(equals + 1)..].Trim();
            switch (name)
            {
                case "hang":
                    result = result with { Hang = true };
                    break;
                case "html":
                    result = result with { Html = true };
                    break;
                case "status" when int.TryParse(argument, System.Globalization.CultureInfo.InvariantCulture, out var status) && status is >= 400 and <= 599:
                    result = result with { Status = status };
                    break;
                case "retry-after" when int.TryParse(argument, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0:
                    result = result with { RetryAfter = seconds };
                    break;
                case "cut-after" or "cut-after-chunks" or "cut" when int.TryParse(argument, System.Globalization.CultureInfo.InvariantCulture, out var chunks) && chunks >= 0:
                    result = result with { CutAfterChunks = chunks };
                    break;
                default:
                    error = $"Invalid {HeaderName} directive '{raw}'. Expected status=<400-599>, html, hang, cut-after=<chunks> or retry-after=<seconds>.";
                    return false;
            }
        }
        failure = result;
        return true;
    }

    internal void Validate()
    {
        if (Status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(Status), Status, "A failure status must be 400-599.");
        }
        if (RetryAfter < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryAfter), RetryAfter, "Must not be negative.");
        }
        if (CutAfterChunks < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CutAfterChunks), CutAfterChunks, "Must not be negative.");
        }
        if (Times < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Times), Times, "Must not be negative.");
        }
    }
}
