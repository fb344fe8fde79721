using Microsoft.Data.Sqlite;
using Sluice.Core.Keys;
using Sluice.Core.Storage;

namespace Sluice.Gateway.Storage;

/// <summary>
/// The SQLite key store, with the failures that mean "the database file cannot be used right now" (cannot be opened,
/// locked past the busy timeout, read-only, disk full, I/O error) turned into <see cref="StoreUnavailableException"/>,
/// as the PostgreSQL store does, so that the admin API answers 503 instead of 500. Everything else passes unchanged.
/// </summary>
public sealed class SqliteKeyStoreFaults : IKeyStore
{
    // SQLite result codes (primary; extended codes keep the primary one in the low byte).
    private const int Busy = 5, Locked = 6, NoMemory = 7, ReadOnly = 8, IoError = 10, Full = 13, CannotOpen = 14;

    private readonly IKeyStore _inner;

    public SqliteKeyStoreFaults(IKeyStore inner)
    {
        _inner = inner;
    }

    public Task<ApiKey> AddAsync(ApiKey key, CancellationToken cancellationToken) => Guard(_inner.AddAsync(key, cancellationToken));

    public Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken) => Guard(_inner.ListAsync(cancellationToken));

    public Task<ApiKey?> FindAsync(string id, CancellationToken cancellationToken) => Guard(_inner.FindAsync(id, cancellationToken));

    public Task<ApiKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) => Guard(_inner.RevokeAsync(id, at, cancellationToken));

    public Task<ApiKey?> UpdateAsync(string id, string? name, string? plan, CancellationToken cancellationToken) =>
        Guard(_inner.UpdateAsync(id, name, plan, cancellationToken));

    public Task<IReadOnlyList<ApiKey>> ChangedSinceAsync(long version, CancellationToken cancellationToken) =>
        Guard(_inner.ChangedSinceAsync(version, cancellationToken));

    /// <summary>True for the SQLite errors that say the file cannot be used now, not that the request was wrong.</summary>
    public static bool IsUnavailable(SqliteException exception) =>
        (exception.SqliteErrorCode & 0xFF) is Busy or Locked or NoMemory or ReadOnly or IoError or Full or CannotOpen;

    private static async Task<T> Guard<T>(Task<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (SqliteException exception) when (IsUnavailable(exception))
        {
            throw new StoreUnavailableException($"The key database (SQLite) is unavailable: {exception.Message}", exception);
        }
    }
}
