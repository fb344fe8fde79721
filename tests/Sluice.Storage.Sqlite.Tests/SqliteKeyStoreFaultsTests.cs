using Sluice.Core.Keys;
using Sluice.Core.Storage;
using Sluice.Gateway.Storage;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>A database file SQLite cannot open is "the key database is unavailable" (503 at the admin API), as a
/// PostgreSQL outage is, not an unexplained 500; a mistake in the request is not.</summary>
public sealed class SqliteKeyStoreFaultsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sluice-sqlite-").FullName;

    [Fact]
    public async Task FileThatCannotBeOpened_EveryCallIsStoreUnavailable()
    {
        // The data directory vanished (or an unmounted volume): SQLite answers SQLITE_CANTOPEN.
        var store = new SqliteKeyStoreFaults(new SqliteKeyStore(new SqliteDatabase(Path.Combine(_directory, "gone", "sluice.db"))));
        var key = NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key;

        var failures = new List<StoreUnavailableException>
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ListAsync(CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.FindAsync(key.Id, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AddAsync(key, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.RevokeAsync(key.Id, DateTimeOffset.UnixEpoch, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ChangedSinceAsync(0, CancellationToken.None)),
        };

        Assert.All(failures, f => Assert.Contains("unable to open database file", f.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DuplicateKey_IsNotAnOutage()
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "sluice.db"));
        await database.MigrateAsync(CancellationToken.None);
        var store = new SqliteKeyStoreFaults(new SqliteKeyStore(database));
        var key = NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key;
        await store.AddAsync(key, CancellationToken.None);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => store.AddAsync(key, CancellationToken.None));

        Assert.IsNotType<StoreUnavailableException>(error);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
