namespace Sluice.Core.Keys;

/// <summary>Durable storage of API keys. Implemented once per backend (SQLite, PostgreSQL).</summary>
public interface IKeyStore
{
    /// <summary>Stores a new key and returns it with its store version.</summary>
    Task<ApiKey> AddAsync(ApiKey key, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken);

    Task<ApiKey?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Revokes a key; returns the revoked key, or null when there is no such key.
    /// Revoking a revoked key keeps its first revocation time.</summary>
    Task<ApiKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Renames a key and/or moves it to another plan (a null leaves that field as it is); returns the changed key
    /// with a higher version, or null when there is no such key.</summary>
    Task<ApiKey?> UpdateAsync(string id, string? name, string? plan, CancellationToken cancellationToken);

    /// <summary>Every key whose version is greater than <paramref name="version"/>, revoked ones included.</summary>
    Task<IReadOnlyList<ApiKey>> ChangedSinceAsync(long version, CancellationToken cancellationToken);
}
