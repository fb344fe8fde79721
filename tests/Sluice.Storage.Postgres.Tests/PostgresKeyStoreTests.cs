using Sluice.Core.Keys;
using Sluice.Testing.Servers;
using Sluice.Testing.Stores;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>The PostgreSQL key store passes the conformance suite on a real server, in a database of the test's own.
/// Each store made here has its own connection pool, as separate gateway processes would.</summary>
public sealed class PostgresKeyStoreTests : KeyStoreConformance, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private TestDatabase? _database;

    public async Task InitializeAsync() => _database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
        await _database!.DisposeAsync();
    }

    protected override async Task<IKeyStore> CreateStoreAsync()
    {
        var database = new PostgresDatabase(_database!.ConnectionString);
        _databases.Add(database);
        await database.MigrateAsync(CancellationToken.None);
        return new PostgresKeyStore(database);
    }
}
