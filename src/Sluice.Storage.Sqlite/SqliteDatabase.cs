using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Sluice.Storage.Sqlite;

/// <summary>The embedded database file: opens connections and applies the schema once.</summary>
public sealed class SqliteDatabase
{
    private const int SchemaVersion = 2;

    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();
    private static readonly object Marker = new();

    private readonly string _connectionString;

    public SqliteDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens a connection (from the pool) with <c>synchronous=NORMAL</c>: that setting belongs to each
    /// connection, not to the file, and a connection the pool had to create anew would otherwise start at <c>FULL</c>
    /// and sync the write-ahead log at every commit while the others do not.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            // Once per physical connection: the pool hands the same native handle out again and again.
            var handle = connection.Handle!;
            if (!Configured.TryGetValue(handle, out _))
            {
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA synchronous=NORMAL;";
                await pragma.ExecuteNonQueryAsync(CancellationToken.None);
                Configured.AddOrUpdate(handle, Marker);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates or upgrades the schema; safe to run at every start.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        if (version < 1)
        {
            command.CommandText = """
                CREATE TABLE IF NOT EXISTS api_keys (
                    id       TEXT    NOT NULL PRIMARY KEY,
                    name     TEXT    NOT NULL,
                    plan     TEXT    NOT NULL,
                    hash     BLOB    NOT NULL UNIQUE,
                    display  TEXT    NOT NULL,
                    created  INTEGER NOT NULL,
                    revoked  INTEGER NULL,
                    version  INTEGER NOT NULL
                );
                CREATE INDEX IF NOT EXISTS api_keys_version ON api_keys (version);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        if (version < 2)
        {
            command.CommandText = SqliteUsageStore.Schema;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        if (version < SchemaVersion)
        {
            command.CommandText = $"PRAGMA user_version = {SchemaVersion};";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }
}
