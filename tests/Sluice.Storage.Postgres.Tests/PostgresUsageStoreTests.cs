using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Testing.Servers;
using Sluice.Testing.Stores;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>The PostgreSQL ledger and balances pass the same conformance suite as SQLite, on a real server, each
/// store with its own connection pool (as separate gateway processes).</summary>
public sealed class PostgresUsageStoreTests : UsageStoreConformance, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private TestDatabase? _database;

    public async Task InitializeAsync()
    {
        _database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        await using var database = new PostgresDatabase(_database.ConnectionString);
        await database.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
        await _database!.DisposeAsync();
    }

    protected override (IUsageLedger Ledger, IBalanceStore Balances) CreateStore()
    {
        var database = new PostgresDatabase(_database!.ConnectionString);
        _databases.Add(database);
        var store = new PostgresUsageStore(database);
        return (store, store);
    }
}
