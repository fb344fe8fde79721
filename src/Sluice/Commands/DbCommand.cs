using System.CommandLine;
using Microsoft.Data.Sqlite;
using Sluice.Core.Keys;
using Sluice.Core.Storage;
using Sluice.Storage.Postgres;
using Sluice.Storage.Sqlite;

namespace Sluice.Commands;

/// <summary><c>sluice db migrate --from &lt;sqlite file&gt; --to &lt;postgres&gt;</c>: copies an embedded installation (its keys,
/// usage ledger, balances and balance history) into PostgreSQL. Idempotent: a second run adds nothing (it only carries
/// over revocations made since, and ledger rows written since).</summary>
internal static class DbCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The embedded database: a sluice.db file, or the data directory that holds it.", Required = true };
        var to = new Option<string>("--to")
        {
            Description = "An Npgsql connection string for the target, e.g. \"Host=db;Username=sluice;Database=sluice\" (the password may come from PGPASSWORD).",
            Required = true,
        };
        var migrate = new Command("migrate", "Copy an embedded (SQLite) installation into PostgreSQL: every API key, the usage ledger, balances and their history. Stop the embedded gateway first; running it again changes nothing.") { from, to };
        migrate.SetAction((result, cancellationToken) => MigrateAsync(result.GetValue(from)!, result.GetValue(to)!, Console.Out, Console.Error, cancellationToken));
        return new Command("db", "Move data between the embedded database and PostgreSQL.") { migrate };
    }

    internal static async Task<int> MigrateAsync(string from, string to, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        var source = Directory.Exists(from) ? Path.Combine(from, "sluice.db") : from;
        if (!File.Exists(source))
        {
            await errors.WriteLineAsync($"No embedded key database at {Path.GetFullPath(source)}: pass --from <data-dir>/sluice.db of the installation to copy.");
            return 2;
        }
        PostgresDatabase target;
        try
        {
            target = new PostgresDatabase(to);
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            await errors.WriteLineAsync($"--to is not a valid Npgsql connection string: {exception.Message}");
            return 2;
        }
        await using (target)
        {
            try
            {
                return await CopyAsync(source, target, output, cancellationToken);
            }
            catch (SqliteException exception)
            {
                await errors.WriteLineAsync($"Cannot read {source}: {exception.Message} (is it a Sluice data directory's sluice.db?). Nothing was copied from it.");
            }
            catch (StoreUnavailableException exception)
            {
                await errors.WriteLineAsync($"Cannot reach PostgreSQL at {target.Description}: {exception.InnerException?.Message ?? exception.Message}");
            }
            catch (Exception exception) when (exception is PostgresSchemaTooNewException or InvalidOperationException or Npgsql.NpgsqlException)
            {
                await errors.WriteLineAsync($"Migration into {target.Description} failed: {exception.Message}");
            }
            await errors.WriteLineAsync("What was copied before the failure stays copied; running the command again completes the copy.");
            return 1;
        }
    }

    private static async Task<int> CopyAsync(string source, PostgresDatabase target, TextWriter output, CancellationToken cancellationToken)
    {
        var keys = await new SqliteKeyStore(new SqliteDatabase(source)).ListAsync(cancellationToken);
        await output.WriteLineAsync($"Read {keys.Count} key(s) from {source}.");

        var schema = await target.MigrateAsync(cancellationToken);
        await output.WriteLineAsync(schema.Applied.Count == 0
            ? $"PostgreSQL {target.Description}: schema up to date (version {schema.To})."
            : $"PostgreSQL {target.Description}: schema migrated from version {schema.From} to {schema.To}.");

        var store = new PostgresKeyStore(target);
        int added = 0, revoked = 0, unchanged = 0;
        foreach (var key in keys)
        {
            switch (await store.ImportAsync(key, cancellationToken))
            {
                case KeyImportOutcome.Added:
                    added++;
                    break;
                case KeyImportOutcome.Revoked:
                    revoked++;
                    break;
                default:
                    unchanged++;
                    break;
            }
        }

        // Read everything back: each key of the source must be there, with its secret's hash and its revocation.
        var stored = new Dictionary<string, ApiKey>(StringComparer.Ordinal);
        foreach (var key in await store.ListAsync(cancellationToken))
        {
            stored[key.Id] = key;
        }
        foreach (var key in keys)
        {
            if (!stored.TryGetValue(key.Id, out var copy) || copy.Hash != key.Hash || copy.IsRevoked != key.IsRevoked)
            {
                throw new InvalidOperationException($"Key {key.Id} did not arrive intact: it is {(copy is null ? "missing" : "different")} in the target.");
            }
        }
        await output.WriteLineAsync(
            $"Copied {keys.Count} key(s) into {target.Description}: {added} added, {revoked} revocation(s) carried over, {unchanged} already there. Verified: every key is there.");

        await using var connection = await new SqliteDatabase(source).OpenAsync(cancellationToken);
        if (!await HasUsageTablesAsync(connection, cancellationToken))
        {
            await output.WriteLineAsync("The embedded database has no usage ledger or balances (an installation from before metering): nothing more to copy.");
            return 0;
        }
        var usage = await UsageCopy.CopyAsync(connection, target, cancellationToken);
        await output.WriteLineAsync(
            $"Copied {usage.LedgerRead} ledger row(s): {usage.LedgerAdded} added, {usage.LedgerRead - usage.LedgerAdded} already there. Verified: every row is there.");
        await output.WriteLineAsync(
            $"Copied {usage.BalancesRead} balance(s) with their history: {usage.BalancesAdded} added, {usage.BalancesRead - usage.BalancesAdded} already there (left as they are in PostgreSQL).");
        return 0;
    }

    private static async Task<bool> HasUsageTablesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('usage_ledger', 'balances', 'balance_changes', 'balance_holds')";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 4;
    }
}
