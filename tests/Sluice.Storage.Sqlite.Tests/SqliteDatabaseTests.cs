namespace Sluice.Storage.Sqlite.Tests;

/// <summary>The database file's settings hold on every connection, not only on the one that created the schema.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sluice-sqlite-db").FullName;

    [Fact]
    public async Task EveryConnection_WritesAheadWithNormalSync_AlsoOnesThePoolOpensAnew()
    {
        var database = new SqliteDatabase(Path.Combine(_folder, "sluice.db"));
        await database.MigrateAsync(CancellationToken.None);

        // Three at once: the pool has to open two new connections besides the one the migration returned.
        await using var first = await database.OpenAsync(CancellationToken.None);
        await using var second = await database.OpenAsync(CancellationToken.None);
        await using var third = await database.OpenAsync(CancellationToken.None);

        foreach (var connection in new[] { first, second, third })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous;";
            Assert.Equal(1L, await command.ExecuteScalarAsync()); // NORMAL (FULL is 2)
            command.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", await command.ExecuteScalarAsync());
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
