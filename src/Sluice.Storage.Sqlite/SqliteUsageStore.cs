using Microsoft.Data.Sqlite;
using Sluice.Core.Billing;
using Sluice.Core.Usage;

namespace Sluice.Storage.Sqlite;

/// <summary>The usage ledger and prepaid balances in the embedded SQLite file. Money is stored as integer
/// nanodollars; a ledger row and the settlement of its hold are written in one transaction.</summary>
public sealed class SqliteUsageStore : IUsageLedger, IBalanceStore
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS usage_ledger (
            request_id        TEXT    NOT NULL PRIMARY KEY,
            time              INTEGER NOT NULL,
            key_id            TEXT    NOT NULL,
            client_ip         TEXT    NOT NULL,
            model             TEXT    NOT NULL,
            endpoint          TEXT    NOT NULL,
            status            INTEGER NOT NULL,
            prompt_tokens     INTEGER NOT NULL,
            cached_tokens     INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cost              INTEGER NOT NULL,
            latency_ms        INTEGER NOT NULL,
            streamed          INTEGER NOT NULL,
            outcome           INTEGER NOT NULL,
            source            INTEGER NOT NULL,
            held              INTEGER NULL
        );
        CREATE INDEX IF NOT EXISTS usage_ledger_key_time ON usage_ledger (key_id, time);
        CREATE INDEX IF NOT EXISTS usage_ledger_time ON usage_ledger (time);
        CREATE TABLE IF NOT EXISTS balances (
            key_id  TEXT    NOT NULL PRIMARY KEY,
            balance INTEGER NOT NULL DEFAULT 0,
            held    INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS balance_holds (
            request_id TEXT    NOT NULL PRIMARY KEY,
            key_id     TEXT    NOT NULL,
            amount     INTEGER NOT NULL,
            created    INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS balance_changes (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            key_id        TEXT    NOT NULL,
            time          INTEGER NOT NULL,
            amount        INTEGER NOT NULL,
            balance_after INTEGER NOT NULL,
            kind          INTEGER NOT NULL,
            request_id    TEXT    NULL UNIQUE,
            note          TEXT    NULL
        );
        CREATE INDEX IF NOT EXISTS balance_changes_key ON balance_changes (key_id, id);
        """;

    private const string LedgerColumns =
        "request_id, time, key_id, client_ip, model, endpoint, status, prompt_tokens, cached_tokens, completion_tokens, cost, latency_ms, streamed, outcome, source, held";

    private readonly SqliteDatabase _database;

    public SqliteUsageStore(SqliteDatabase database)
    {
        _database = database;
    }

    public async Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return;
        }
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        // One prepared statement for the whole batch, bound by position; only the values change from row to row.
        using var insert = new LedgerInsert(connection, $"""
            INSERT INTO usage_ledger ({LedgerColumns})
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            ON CONFLICT (request_id) DO NOTHING;
            """);
        foreach (var record in records)
        {
            var inserted = insert.Execute(record);
            if (inserted && record.Held is not null)
            {
                await SettleAsync(connection, transaction, record, cancellationToken);
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<UsageSummary>> SummarizeAsync(string? keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT time / 86400000 AS day, key_id, model, COUNT(*), SUM(prompt_tokens), SUM(cached_tokens), SUM(completion_tokens), SUM(cost),
                   SUM(CASE WHEN outcome = {(int)UsageOutcome.UpstreamFailed} THEN 1 ELSE 0 END)
              FROM usage_ledger
             WHERE time >= $since AND time < $until {(keyId is null ? "" : "AND key_id = $key")}
             GROUP BY day, key_id, model
             ORDER BY day, key_id, model;
            """;
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
        if (keyId is not null)
        {
            command.Parameters.AddWithValue("$key", keyId);
        }
        var rows = new List<UsageSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageSummary(
                DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0) * 86_400_000).UtcDateTime),
                reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6),
                new Money(reader.GetInt64(7)), reader.GetInt64(8)));
        }
        return rows;
    }

    public async Task<UsageRecord?> FindAsync(string requestId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {LedgerColumns} FROM usage_ledger WHERE request_id = $request;";
        command.Parameters.AddWithValue("$request", requestId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new UsageRecord
        {
            RequestId = reader.GetString(0),
            Time = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            KeyId = reader.GetString(2),
            ClientIp = reader.GetString(3),
            Model = reader.GetString(4),
            Endpoint = reader.GetString(5),
            Status = reader.GetInt32(6),
            PromptTokens = reader.GetInt64(7),
            CachedTokens = reader.GetInt64(8),
            CompletionTokens = reader.GetInt64(9),
            Cost = new Money(reader.GetInt64(10)),
            LatencyMs = reader.GetInt32(11),
            Streamed = reader.GetInt64(12) == 1,
            Outcome = (UsageOutcome)reader.GetInt32(13),
            Source = (UsageSource)reader.GetInt32(14),
            Held = reader.IsDBNull(15) ? null : new Money(reader.GetInt64(15)),
        };
    }

    public async Task<BalanceState> GetAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT balance, held FROM balances WHERE key_id = $key;";
        command.Parameters.AddWithValue("$key", keyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new BalanceState(keyId, new Money(reader.GetInt64(0)), new Money(reader.GetInt64(1)))
            : new BalanceState(keyId, Money.Zero, Money.Zero);
    }

    public async Task<BalanceChange> CreditAsync(string keyId, Money amount, string? note, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var after = await AddToBalanceAsync(connection, transaction, keyId, amount, cancellationToken);
        var change = await RecordChangeAsync(connection, transaction, keyId, at, amount, after, BalanceChangeKind.Credit, null, note, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return change;
    }

    public async Task<bool> TryHoldAsync(string keyId, string requestId, Money amount, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var record = connection.CreateCommand())
        {
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO balance_holds (request_id, key_id, amount, created) VALUES ($request, $key, $amount, $created) ON CONFLICT (request_id) DO NOTHING;";
            record.Parameters.AddWithValue("$request", requestId);
            record.Parameters.AddWithValue("$key", keyId);
            record.Parameters.AddWithValue("$amount", amount.Nanodollars);
            record.Parameters.AddWithValue("$created", at.ToUnixTimeMilliseconds());
            if (await record.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // This request already holds its amount (a retried call): nothing more to hold.
                return true;
            }
        }
        await using (var hold = connection.CreateCommand())
        {
            hold.Transaction = transaction;
            // One statement under SQLite's write lock: concurrent holds can never together exceed the balance.
            hold.CommandText = "UPDATE balances SET held = held + $amount WHERE key_id = $key AND balance - held >= $amount;";
            hold.Parameters.AddWithValue("$key", keyId);
            hold.Parameters.AddWithValue("$amount", amount.Nanodollars);
            if (await hold.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                // Not enough: the transaction is rolled back (the hold row with it).
                return false;
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task ReleaseHoldAsync(string keyId, string requestId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await DropHoldAsync(connection, transaction, requestId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<BalanceChange>> HistoryAsync(string keyId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, key_id, time, amount, balance_after, kind, request_id, note FROM balance_changes WHERE key_id = $key ORDER BY id DESC LIMIT $limit;";
        command.Parameters.AddWithValue("$key", keyId);
        command.Parameters.AddWithValue("$limit", limit);
        var changes = new List<BalanceChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changes.Add(new BalanceChange(reader.GetInt64(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                new Money(reader.GetInt64(3)), new Money(reader.GetInt64(4)), (BalanceChangeKind)reader.GetInt32(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }
        return changes;
    }

    /// <summary>Drops the call's hold and charges its actual cost, recording the change.</summary>
    private static async Task SettleAsync(SqliteConnection connection, SqliteTransaction transaction, UsageRecord record, CancellationToken cancellationToken)
    {
        await DropHoldAsync(connection, transaction, record.RequestId, cancellationToken);
        var after = await AddToBalanceAsync(connection, transaction, record.KeyId, -record.Cost, cancellationToken);
        await RecordChangeAsync(connection, transaction, record.KeyId, record.Time, -record.Cost, after, BalanceChangeKind.Usage, record.RequestId, record.Model, cancellationToken);
    }

    private static async Task DropHoldAsync(SqliteConnection connection, SqliteTransaction transaction, string requestId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE balances SET held = held - (SELECT amount FROM balance_holds WHERE request_id = $request)
             WHERE key_id = (SELECT key_id FROM balance_holds WHERE request_id = $request);
            DELETE FROM balance_holds WHERE request_id = $request;
            """;
        command.Parameters.AddWithValue("$request", requestId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<Money> AddToBalanceAsync(SqliteConnection connection, SqliteTransaction transaction, string keyId, Money amount, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO balances (key_id, balance, held) VALUES ($key, $amount, 0)
            ON CONFLICT (key_id) DO UPDATE SET balance = balance + $amount
            RETURNING balance;
            """;
        command.Parameters.AddWithValue("$key", keyId);
        command.Parameters.AddWithValue("$amount", amount.Nanodollars);
        return new Money(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<BalanceChange> RecordChangeAsync(SqliteConnection connection, SqliteTransaction transaction, string keyId, DateTimeOffset at, Money amount, Money after,
        BalanceChangeKind kind, string? requestId, string? note, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO balance_changes (key_id, time, amount, balance_after, kind, request_id, note)
            VALUES ($key, $time, $amount, $after, $kind, $request, $note)
            RETURNING id;
            """;
        command.Parameters.AddWithValue("$key", keyId);
        command.Parameters.AddWithValue("$time", at.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$amount", amount.Nanodollars);
        command.Parameters.AddWithValue("$after", after.Nanodollars);
        command.Parameters.AddWithValue("$kind", (int)kind);
        command.Parameters.AddWithValue("$request", (object?)requestId ?? DBNull.Value);
        command.Parameters.AddWithValue("$note", (object?)note ?? DBNull.Value);
        var id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        return new BalanceChange(id, keyId, at, amount, after, kind, requestId, note);
    }
}
