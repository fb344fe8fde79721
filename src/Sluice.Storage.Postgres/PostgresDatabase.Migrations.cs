using Npgsql;

namespace Sluice.Storage.Postgres;

public sealed partial class PostgresDatabase
{
    /// <summary>The advisory lock every instance takes before it looks at the schema: "sluice" in ASCII, then 1.</summary>
    public const long MigrationLockKey = 0x736C_7569_6365_0001;

    /// <summary>
    /// Brings the schema up to <see cref="PostgresSchema.LatestVersion"/>: in one transaction, under a transaction-level
    /// advisory lock (so instances starting together take turns and the later ones find nothing left to do), applies
    /// each step that <c>schema_migrations</c> does not list yet and records it there. Safe to run at every start.
    /// </summary>
    /// <exception cref="Sluice.Core.Storage.StoreUnavailableException">The server cannot be reached.</exception>
    /// <exception cref="PostgresSchemaTooNewException">The database was migrated by a newer Sluice.</exception>
    public Task<PostgresMigrationResult> MigrateAsync(CancellationToken cancellationToken) =>
        MigrateAsync(PostgresSchema.Migrations, cancellationToken);

    /// <summary>Applies <paramref name="migrations"/> (ordered by version) the same way; for tests of the mechanism.</summary>
    public Task<PostgresMigrationResult> MigrateAsync(IReadOnlyList<PostgresMigration> migrations, CancellationToken cancellationToken) =>
        RunAsync(async (connection, token) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(token);
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
            {
                // Another instance may be applying a long step: wait for it rather than give up after 30 s.
                command.CommandTimeout = 0;
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MigrationLockKey });
                await command.ExecuteNonQueryAsync(token);
            }
            await using (var command = new NpgsqlCommand("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer     NOT NULL PRIMARY KEY,
                    name    text        NOT NULL,
                    applied timestamptz NOT NULL DEFAULT now()
                )
                """, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(token);
            }

            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
            await using (var reader = await command.ExecuteReaderAsync(token))
            {
                while (await reader.ReadAsync(token))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }
            var from = applied.Count == 0 ? 0 : applied.Max();
            var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
            if (from > latest)
            {
                throw new PostgresSchemaTooNewException(
                    $"The database {Description} has schema version {from}, newer than this Sluice knows ({latest}); run a Sluice at least as new as the one that migrated it.");
            }

            var done = new List<PostgresMigration>();
            foreach (var migration in migrations)
            {
                if (applied.Contains(migration.Version))
                {
                    continue;
                }
                await using (var step = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
                {
                    await step.ExecuteNonQueryAsync(token);
                }
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
                    record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
                    await record.ExecuteNonQueryAsync(token);
                }
                done.Add(migration);
            }
            await transaction.CommitAsync(token);
            return new PostgresMigrationResult(from, Math.Max(from, latest), done);
        }, cancellationToken);
}
