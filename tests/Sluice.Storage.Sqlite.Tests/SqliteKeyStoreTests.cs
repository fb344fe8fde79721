using Microsoft.Data.Sqlite;
using Sluice.Core.Keys;
using Sluice.Testing.Stores;

namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The SQLite key store passes the conformance suite on a real file of the test's own. Each store made here
/// opens the file through its own <see cref="SqliteDatabase"/>, as processes sharing a data directory would.</summary>
public sealed class SqliteKeyStoreTests : KeyStoreConformance, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sluice-sqlite-").FullName;

    protected override async Task<IKeyStore> CreateStoreAsync()
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "sluice.db"));
        await database.MigrateAsync(CancellationToken.None);
        return new SqliteKeyStore(database);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
