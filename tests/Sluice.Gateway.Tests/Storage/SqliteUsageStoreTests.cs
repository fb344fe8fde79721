using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Storage.Sqlite;
using Sluice.Testing.Stores;

namespace Sluice.Gateway.Tests.Storage;

/// <summary>The embedded (SQLite) ledger and balances pass the usage store conformance suite.</summary>
public sealed class SqliteUsageStoreTests : UsageStoreConformance, IAsyncLifetime
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "sluice-usage-" + Guid.NewGuid().ToString("N")[..10] + ".db");

    public async Task InitializeAsync() => await new SqliteDatabase(_path).MigrateAsync(CancellationToken.None);

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
        return Task.CompletedTask;
    }

    protected override (IUsageLedger Ledger, IBalanceStore Balances) CreateStore()
    {
        var store = new SqliteUsageStore(new SqliteDatabase(_path));
        return (store, store);
    }
}
