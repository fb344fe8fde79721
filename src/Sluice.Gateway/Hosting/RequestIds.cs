using System.Security.Cryptography;

namespace Sluice.Gateway.Hosting;

/// <summary>
/// Ids for calls: <c>req_</c>, 12 random base62 characters drawn once per process (about 71 bits, so two instances
/// never share them), and a counter. Unique across instances and restarts, and cheap: no random draw per call.
/// </summary>
internal static class RequestIds
{
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
