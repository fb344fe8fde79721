using System.Security.Cryptography;

namespace Sluice.Core.Keys;

/// <summary>Makes new API keys and their safe display forms.</summary>
public static class ApiKeySecret
{
    public const string Prefix = "sk-";

    /// <summary>Random base62 characters after the prefix: 48 give about 286 bits.</summary>
    public const int RandomLength = 48;

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>A new key: <c>sk-</c> and 48 cryptographically random base62 characters.</summary>
    public static string Generate() => Prefix + RandomNumberGenerator.GetString(Base62, RandomLength);

    /// <summary>An id for a key or another record: the prefix and 20 random base62 characters.</summary>
    public static string NewId(string prefix) => prefix + RandomNumberGenerator.GetString(Base62, 20);

    /// <summary>The form shown in lists and logs: <c>sk-abcd…wxyz</c>; never enough to use the key.</summary>
    public static string Display(ReadOnlySpan<char> key)
    {
        if (key.Length < Prefix.Length + 8)
        {
            return key.Length <= 3 ? "***" : string.Concat(key[..3], "…");
        }
        var body = key.StartsWith(Prefix, StringComparison.Ordinal) ? Prefix.Length : 0;
        return string.Concat(key[..(body + 4)], "…", key[^4..]);
    }
}
