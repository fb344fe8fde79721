using Sluice.Core.Keys;

namespace Sluice.Core.Tests.Keys;

public sealed class ApiKeySecretTests
{
    [Fact]
    public void Generate_IsSkPlus48Base62_AndNeverRepeats()
    {
        var keys = Enumerable.Range(0, 1_000).Select(_ => ApiKeySecret.Generate()).ToList();
        Assert.All(keys, key =>
        {
            Assert.StartsWith("sk-", key, StringComparison.Ordinal);
            Assert.Equal(51, key.Length);
            Assert.All(key[3..], c => Assert.True(char.IsAsciiLetterOrDigit(c)));
        });
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Display_ShowsOnlyTheEnds()
    {
        Assert.Equal("sk-abcd…wxyz", ApiKeySecret.Display("sk-abcdefghijklmnopqrstuvwxyz"));
    }

    [Fact]
    public void KeyHash_IsSha256_SameForSameKey_DifferentOtherwise()
    {
        var key = ApiKeySecret.Generate();
        Assert.Equal(KeyHash.Of(key), KeyHash.Of(key.AsSpan()));
        Assert.NotEqual(KeyHash.Of(key), KeyHash.Of(key + "x"));
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key))),
            KeyHash.Of(key).ToString());
        Assert.Equal(KeyHash.Of(key), KeyHash.FromBytes(KeyHash.Of(key).ToBytes()));
    }

    [Fact]
    public void KeyDirectory_OlderVersionNeverReplacesNewer()
    {
        var made = NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch);
        var directory = new KeyDirectory();
        var revoked = made.Key with { Revoked = DateTimeOffset.UnixEpoch, Version = 2 };
        directory.Apply([revoked]);
        directory.Apply([made.Key with { Version = 1 }]);
        Assert.True(directory.Find(KeyHash.Of(made.Secret))!.IsRevoked);
        Assert.Equal(2, directory.Version);
    }
}
