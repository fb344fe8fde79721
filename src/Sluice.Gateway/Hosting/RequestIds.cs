using System.Security.Cryptography;

namespace Sluice.Gateway.Hosting;

/// <summary>
/// Ids for calls: <c>req_</c>, 12 random base62 characters drawn once per process (about 71 bits, so two instances
/// never share them), and a counter. Unique across instances and restarts, and cheap: no random draw per call.
/// </summary>
internal static class RequestIds
{
    /// <summary>The response header with the call's id, on every answer (the access-log line has the same id).</summary>
    public const string Header = "x-sluice-request-id";

    /// <summary>OpenAI's own request-id header, which its libraries report with an error (<c>error.requestID</c>,
    /// <c>error.request_id</c>): an answer from the upstream keeps the upstream's, an error written by Sluice
    /// carries Sluice's id.</summary>
    public const string OpenAIHeader = "x-request-id";

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly string Prefix = "req_" + RandomNumberGenerator.GetString(Base62, 12);
    private static long s_next;

    public static string Next()
    {
        var n = (ulong)Interlocked.Increment(ref s_next);
        return string.Create(Prefix.Length + 11, n, static (span, value) =>
        {
            Prefix.AsSpan().CopyTo(span);
            var digits = span[Prefix.Length..];
            for (var i = digits.Length - 1; i >= 0; i--)
            {
                digits[i] = Base62[(int)(value % 62)];
                value /= 62;
            }
        });
    }
}
