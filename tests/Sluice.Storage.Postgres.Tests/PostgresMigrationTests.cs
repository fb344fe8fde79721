using Npgsql;
using Sluice.Core.Keys;
using Sluice.Testing.Servers;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>Schema migrations: numbered steps recorded in <c>schema_migrations</c>, applied once, in one transaction,
/// by one instance at a time (advisory lock), safe at every start.</summary>
public sealed class PostgresMigrationTests : IAsyncLifetime
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

    private PostgresDatabase Open()
    {
        var database = new PostgresDatabase(_database!.ConnectionString);
        _databases.Add(database);
        return database;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_database!.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Migrate_Twice_TheSecondRunAppliesNothing_AndKeysSurvive()
    {
        var database = Open();
        var first = await database.MigrateAsync(CancellationToken.None);
        var store = new PostgresKeyStore(database);
        var key = await store.AddAsync(NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);

        var second = await database.MigrateAsync(CancellationToken.None);

        Assert.Equal((0, PostgresSchema.LatestVersion, PostgresSchema.Migrations.Count), (first.From, first.To, first.Applied.Count));
        Assert.Equal((PostgresSchema.LatestVersion, PostgresSchema.LatestVersion), (second.From, second.To));
        Assert.Empty(second.Applied);
        Assert.Equal(PostgresSchema.Migrations.Count, await ScalarAsync<long>("SELECT count(*) FROM schema_migrations"));
        Assert.Equal(key, await store.FindAsync(key.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Migrate_EightInstancesStartingAtOnce_AllSucceed_AndEachStepIsAppliedOnce()
    {
        var instances = Enumerable.Range(0, 8).Select(_ => Open()).ToList();

        var results = await Task.WhenAll(instances.Select(d => d.MigrateAsync(CancellationToken.None)));

        Assert.All(results, r => Assert.Equal(PostgresSchema.LatestVersion, r.To));
        Assert.Equal(PostgresSchema.Migrations.Count, results.Sum(r => r.Applied.Count));
        Assert.Equal(PostgresSchema.Migrations.Count, await ScalarAsync<long>("SELECT count(*) FROM schema_migrations"));
        var store = new PostgresKeyStore(instances[3]);
        Assert.Empty(await store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Migrate_WhileAnotherInstanceHoldsTheLock_WaitsForIt()
    {
        await using var other = new NpgsqlConnection(_database!.ConnectionString + ";Pooling=false");
        await other.OpenAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresDatabase.MigrationLockKey})", other))
        {
            await take.ExecuteNonQueryAsync();
        }

        var migrating = Open().MigrateAsync(CancellationToken.None);
        await Task.Delay(700);
        Assert.False(migrating.IsCompleted, "the migration did not wait for the lock");
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE tablename = 'api_keys'"));

        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresDatabase.MigrationLockKey})", other))
        {
            await release.ExecuteNonQueryAsync();
        }
        var result = await migrating.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(PostgresSchema.Migrations.Count, result.Applied.Count);
    }

    [Fact]
    public async Task Migrate_ANewStep_AppliesOnlyThatStep()
    {
        var database = Open();
        await database.MigrateAsync(CancellationToken.None);
        var next = PostgresSchema.LatestVersion + 1;
        PostgresMigration[] later = [.. PostgresSchema.Migrations, new(next, "test table", "CREATE TABLE later_step (id integer PRIMARY KEY)")];

        var result = await Open().MigrateAsync(later, CancellationToken.None);

        Assert.Equal((PostgresSchema.LatestVersion, next), (result.From, result.To));
        Assert.Equal([next], result.Applied.Select(m => m.Version));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM later_step"));
    }

    [Fact]
    public async Task Migrate_AStepFails_NothingOfTheRunIsKept_AndTheNextStartCompletes()
    {
        var database = Open();
        PostgresMigration[] broken = [.. PostgresSchema.Migrations, new(PostgresSchema.LatestVersion + 1, "broken", "CREATE TABLE oops (id nonsense_type)")];

        await Assert.ThrowsAsync<PostgresException>(() => database.MigrateAsync(broken, CancellationToken.None));

        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE tablename IN ('api_keys', 'schema_migrations')"));
        var result = await database.MigrateAsync(CancellationToken.None);
        Assert.Equal(PostgresSchema.Migrations.Count, result.Applied.Count);
    }

    [Fact]
    public async Task Migrate_DatabaseMigratedByANewerSluice_IsRefusedWithAClearMessage()
    {
        var database = Open();
        await database.MigrateAsync(CancellationToken.None);
        await ScalarAsync<int>("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future') RETURNING version");

        var error = await Assert.ThrowsAsync<PostgresSchemaTooNewException>(() => Open().MigrateAsync(CancellationToken.None));

        Assert.Contains("schema version 999", error.Message, StringComparison.Ordinal);
    }
}
