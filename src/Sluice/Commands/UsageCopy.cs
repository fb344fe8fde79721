using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Sluice.Storage.Postgres;

namespace Sluice.Commands;

/// <summary>
/// The money side of <c>sluice db migrate</c>: every usage-ledger row and every key's balance, holds and balance
/// history, copied from the embedded database into PostgreSQL. Safe to run again: ledger rows already there are
/// skipped (the request id is the key), and a key whose balance is already in PostgreSQL is left as it is there,
/// so a balance is never carried over twice.
/// </summary>
internal static class UsageCopy
{
    private const int Chunk = 1000;

    private const string LedgerColumns =
        "request_id, time, key_id, client_ip, model, endpoint, status, prompt_tokens, cached_tokens, completion_tokens, cost, latency_ms, streamed, outcome, source, held";

    public sealed record Outcome(long LedgerRead, long LedgerAdded, int BalancesRead, int BalancesAdded);

    public static async Task<Outcome> CopyAsync(SqliteConnection source, PostgresDatabase target, CancellationToken cancellationToken)
    {
        var (ledgerRead, ledgerAdded) = await CopyLedgerAsync(source, target, cancellationToken);
        var (balancesRead, balancesAdded) = await CopyBalancesAsync(source, target, cancellationToken);
        return new Outcome(ledgerRead, ledgerAdded, balancesRead, balancesAdded);
    }

    private static async Task<(long Read, long Added)> CopyLedgerAsync(SqliteConnection source, PostgresDatabase target, CancellationToken cancellationToken)
    {
        await using var read = source.CreateCommand();
        read.CommandText = $"SELECT {LedgerColumns} FROM usage_ledger ORDER BY time, request_id";
        await using var rows = await read.ExecuteReaderAsync(cancellationToken);
        long total = 0, added = 0;
        var chunk = new List<object?[]>(Chunk);
        while (await rows.ReadAsync(cancellationToken))
        {
            var values = new object?[16];
            rows.GetValues(values!);
            chunk.Add(values);
            if (chunk.Count == Chunk)
            {
                added += await InsertLedgerAsync(target, chunk, cancellationToken);
                total += chunk.Count;
                chunk.Clear();
            }
        }
        if (chunk.Count > 0)
        {
            added += await InsertLedgerAsync(target, chunk, cancellationToken);
            total += chunk.Count;
        }
        return (total, added);
    }

    /// <summary>One transaction per chunk; then checks that every row of the chunk is in the target.</summary>
    private static Task<long> InsertLedgerAsync(PostgresDatabase target, List<object?[]> chunk, CancellationToken cancellationToken) =>
        target.RunAsync(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var row in chunk)
            {
                var insert = new NpgsqlBatchCommand($"""
                    INSERT INTO usage_ledger ({LedgerColumns})
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                    ON CONFLICT (request_id) DO NOTHING
                    """);
                insert.Parameters.Add(new NpgsqlParameter { Value = (string)row[0]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = Time(row[1]) });
                insert.Parameters.Add(new NpgsqlParameter { Value = (string)row[2]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (string)row[3]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (string)row[4]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (string)row[5]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = checked((int)(long)row[6]!) });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)row[7]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)row[8]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)row[9]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)row[10]! });
                insert.Parameters.Add(new NpgsqlParameter { Value = checked((int)(long)row[11]!) });
                insert.Parameters.Add(new NpgsqlParameter { Value = (long)row[12]! != 0 });
                insert.Parameters.Add(new NpgsqlParameter { Value = checked((short)(long)row[13]!) });
                insert.Parameters.Add(new NpgsqlParameter { Value = checked((short)(long)row[14]!) });
                insert.Parameters.Add(new NpgsqlParameter { Value = row[15] is long held ? held : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
                batch.BatchCommands.Add(insert);
            }
            long added = await batch.ExecuteNonQueryAsync(ct);

            await using var check = new NpgsqlCommand("SELECT count(*) FROM usage_ledger WHERE request_id = ANY($1)", connection, transaction);
            check.Parameters.Add(new NpgsqlParameter { Value = chunk.Select(row => (string)row[0]!).ToArray() });
            var present = (long)(await check.ExecuteScalarAsync(ct))!;
            if (present != chunk.Count)
            {
                throw new InvalidOperationException($"{chunk.Count - present} ledger row(s) did not arrive in the target.");
            }
            await transaction.CommitAsync(ct);
            return added;
        }, cancellationToken);

    private static async Task<(int Read, int Added)> CopyBalancesAsync(SqliteConnection source, PostgresDatabase target, CancellationToken cancellationToken)
    {
        var balances = new List<(string KeyId, long Balance, long Held)>();
        await using (var read = source.CreateCommand())
        {
            read.CommandText = "SELECT key_id, balance, held FROM balances ORDER BY key_id";
            await using var rows = await read.ExecuteReaderAsync(cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                balances.Add((rows.GetString(0), rows.GetInt64(1), rows.GetInt64(2)));
            }
        }
        var added = 0;
        foreach (var (keyId, balance, held) in balances)
        {
            var changes = await ReadRowsAsync(source, "SELECT time, amount, balance_after, kind, request_id, note FROM balance_changes WHERE key_id = $key ORDER BY id", keyId, cancellationToken);
            var holds = await ReadRowsAsync(source, "SELECT request_id, amount, created FROM balance_holds WHERE key_id = $key ORDER BY created", keyId, cancellationToken);
            if (await InsertBalanceAsync(target, keyId, balance, held, changes, holds, cancellationToken))
            {
                added++;
            }
        }
        return (balances.Count, added);
    }

    private static async Task<List<object?[]>> ReadRowsAsync(SqliteConnection source, string sql, string keyId, CancellationToken cancellationToken)
    {
        await using var read = source.CreateCommand();
        read.CommandText = sql;
        read.Parameters.AddWithValue("$key", keyId);
        await using var rows = await read.ExecuteReaderAsync(cancellationToken);
        var result = new List<object?[]>();
        while (await rows.ReadAsync(cancellationToken))
        {
            var values = new object?[rows.FieldCount];
            rows.GetValues(values!);
            result.Add(values);
        }
        return result;
    }

    /// <summary>A key's balance with its history and holds, in one transaction; nothing when the target already has its balance.</summary>
    private static Task<bool> InsertBalanceAsync(PostgresDatabase target, string keyId, long balance, long held,
        List<object?[]> changes, List<object?[]> holds, CancellationToken cancellationToken) =>
        target.RunAsync(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using (var insert = new NpgsqlCommand("INSERT INTO balances (key_id, balance, held) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING", connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = keyId });
                insert.Parameters.Add(new NpgsqlParameter { Value = balance });
                insert.Parameters.Add(new NpgsqlParameter { Value = held });
                if (await insert.ExecuteNonQueryAsync(ct) == 0)
                {
                    return false;
                }
            }
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var change in changes)
            {
                var command = new NpgsqlBatchCommand(
                    "INSERT INTO balance_changes (key_id, time, amount, balance_after, kind, request_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7)");
                command.Parameters.Add(new NpgsqlParameter { Value = keyId });
                command.Parameters.Add(new NpgsqlParameter { Value = Time(change[0]) });
                command.Parameters.Add(new NpgsqlParameter { Value = (long)change[1]! });
                command.Parameters.Add(new NpgsqlParameter { Value = (long)change[2]! });
                command.Parameters.Add(new NpgsqlParameter { Value = checked((short)(long)change[3]!) });
                command.Parameters.Add(new NpgsqlParameter { Value = change[4] is string request ? request : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = change[5] is string note ? note : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                batch.BatchCommands.Add(command);
            }
            foreach (var hold in holds)
            {
                var command = new NpgsqlBatchCommand("INSERT INTO balance_holds (request_id, key_id, amount, created) VALUES ($1, $2, $3, $4)");
                command.Parameters.Add(new NpgsqlParameter { Value = (string)hold[0]! });
                command.Parameters.Add(new NpgsqlParameter { Value = keyId });
                command.Parameters.Add(new NpgsqlParameter { Value = (long)hold[1]! });
                command.Parameters.Add(new NpgsqlParameter { Value = Time(hold[2]) });
                batch.BatchCommands.Add(command);
            }
            if (batch.BatchCommands.Count > 0)
            {
                await batch.ExecuteNonQueryAsync(ct);
            }
            await transaction.CommitAsync(ct);
            return true;
        }, cancellationToken);

    /// <summary>SQLite keeps times as Unix milliseconds; PostgreSQL as <c>timestamptz</c>.</summary>
    private static DateTimeOffset Time(object? unixMs) => DateTimeOffset.FromUnixTimeMilliseconds((long)unixMs!);
}
