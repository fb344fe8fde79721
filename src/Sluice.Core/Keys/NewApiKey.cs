namespace Sluice.Core.Keys;

/// <summary>A key just made: the record to store and the secret, which is shown once and then forgotten.</summary>
public sealed record NewApiKey(ApiKey Key, string Secret)
{
    public static NewApiKey Create(string name, string plan, DateTimeOffset created)
    {
        var secret = ApiKeySecret.Generate();
        var key = new ApiKey
        {
            Id = ApiKeySecret.NewId("key_"),
            Name = name,
            Plan = plan,
            Hash = KeyHash.Of(secret),
            Display = ApiKeySecret.Display(secret),
            Created = created,
        };
        return new NewApiKey(key, secret);
    }
}
