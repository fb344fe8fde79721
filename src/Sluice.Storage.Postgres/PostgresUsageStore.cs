using Npgsql;
using NpgsqlTypes;
using Sluice.Core.Billing;
using Sluice.Core.Usage;

namespace Sluice.Storage.Postgres;

/// <summary>
/// The usage ledger and prepaid balances in PostgreSQL, shared by every instance. A batch of ledger rows is one
/// statement (<c>unnest</c> of arrays, <c>ON CONFLICT DO NOTHING</c>) in one transaction with the settlement of the
/// prepaid holds of the rows it inserted. A hold is a conditional <c>UPDATE</c> whose row lock orders concurrent
/// holds, so together they never exceed the balance.
/// </summary>
/// <remarks>Every method throws <see cref="Core.Storage.StoreUnavailableException"/> when the server cannot be reached.</remarks>
public sealed class PostgresUsageStore : IUsageLedger, IBalanceStore
{
    private const string LedgerColumns =
        "request_id, time, key_id, client_ip, model, endpoint, status, prompt_tokens, cached_tokens, completion_tokens, cost, latency_ms, streamed, outcome, source, held";

    private readonly PostgresDatabase _database;

    public PostgresUsageStore(PostgresDatabase database)
    {
        _database = database;
    }

    public Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }
        return _database.RunAsync(async (connection, token) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(token);
            var inserted = new HashSet<string>(StringComparer.Ordinal);
            await using (var insert = new NpgsqlCommand($"""
                INSERT INTO usage_ledger ({LedgerColumns})
                SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::integer[],
                                     $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::integer[], $13::boolean[],
                                     $14::smallint[], $15::smallint[], $16::bigint[])
                ON CONFLICT (request_id) DO NOTHING
                RETURNING request_id
                """, connection, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.RequestId).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Time.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.KeyId).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.ClientIp).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Model).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Endpoint).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Status).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.PromptTokens).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.CachedTokens).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.CompletionTokens).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Cost.Nanodollars).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.LatencyMs).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Streamed).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => (short)r.Outcome).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => (short)r.Source).ToArray() });
                insert.Parameters.Add(new NpgsqlParameter { Value = records.Select(r => r.Held?.Nanodollars).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                await using var reader = await insert.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    inserted.Add(reader.GetString(0));
                }
            }
            var settle = records.Where(r => r.Held is not null && inserted.Contains(r.RequestId)).ToList();
            if (settle.Count > 0)
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                foreach (var record in settle)
                {
                    batch.BatchCommands.Add(DropHold(record.RequestId));
                    batch.BatchCommands.Add(ChangeBalance(record.KeyId, -record.Cost, record.Time, BalanceChangeKind.Usage, record.RequestId, record.Model));
                }
                await batch.ExecuteNonQueryAsync(token);
            }
            await transaction.CommitAsync(token);
            return inserted.Count;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<UsageSummary>> SummarizeAsync(string? keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken) =>
        _database.RunAsync<IReadOnlyList<UsageSummary>>(async (connection, token) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT floor(extract(epoch FROM time) / 86400)::bigint AS day, key_id, model, count(*),
                       sum(prompt_tokens)::bigint, sum(cached_tokens)::bigint, sum(completion_tokens)::bigint, sum(cost)::bigint,
                       count(*) FILTER (WHERE outcome = {(int)UsageOutcome.UpstreamFailed})
                  FROM usage_ledger
                 WHERE time >= $1 AND time < $2 {(keyId is null ? "" : "AND key_id = $3")}
                 GROUP BY day, key_id, model
                 ORDER BY day, key_id, model
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            if (keyId is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = keyId });
            }
            var rows = new List<UsageSummary>();
            await using var reader = await command.ExecuteReaderAsync(token);
            while (await reader.ReadAsync(token))
            {
                rows.Add(new UsageSummary(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)reader.GetInt64(0)),
                    reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), new Money(reader.GetInt64(7)), reader.GetInt64(8)));
            }
            return rows;
        }, cancellationToken);

    public Task<UsageRecord?> FindAsync(string requestId, CancellationToken cancellationToken) =>
        _database.RunAsync(async (connection, token) =>
        {
            await using var command = new NpgsqlCommand($"SELECT {LedgerColumns} FROM usage_ledger WHERE request_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = requestId });
            await using var reader = await command.ExecuteReaderAsync(token);
            if (!await reader.ReadAsync(token))
            {
                return null;
            }
            return new UsageRecord
            {
                RequestId = reader.GetString(0),
                Time = new DateTimeOffset(reader.GetDateTime(1)),
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
                Streamed = reader.GetBoolean(12),
                Outcome = (UsageOutcome)reader.GetInt16(13),
                Source = (UsageSource)reader.GetInt16(14),
                Held = reader.IsDBNull(15) ? null : new Money(reader.GetInt64(15)),
            };
        }, cancellationToken);

    public Task<BalanceState> GetAsync(string keyId, CancellationToken cancellationToken) =>
        _database.RunAsync(async (connection, token) =>
        {
            await using var command = new NpgsqlCommand("SELECT balance, held FROM balances WHERE key_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = keyId });
            await using var reader = await command.ExecuteReaderAsync(token);
            return await reader.ReadAsync(token)
                ? new BalanceState(keyId, new Money(reader.GetInt64(0)), new Money(reader.GetInt64(1)))
                : new BalanceState(keyId, Money.Zero, Money.Zero);
        }, cancellationToken);

    public Task<BalanceChange> CreditAsync(string keyId, Money amount, string? note, DateTimeOffset at, CancellationToken cancellationToken) =>
        _database.RunAsync(async (connection, token) =>
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(ChangeBalance(keyId, amount, at, BalanceChangeKind.Credit, null, note, returning: true));
            await using var reader = await batch.ExecuteReaderAsync(token);
            await reader.ReadAsync(token);
            return new BalanceChange(reader.GetInt64(0), keyId, at, amount, new Money(reader.GetInt64(1)), BalanceChangeKind.Credit, null, note);
        }, cancellationToken);

    public Task<bool> TryHoldAsync(string keyId, string requestId, Money amount, DateTimeOffset at, CancellationToken cancellationToken) =>
        _database.RunAsync(async (connection, token) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(token);
            await using (var record = new NpgsqlCommand(
                "INSERT INTO balance_holds (request_id, key_id, amount, created) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = requestId });
                record.Parameters.Add(new NpgsqlParameter { Value = keyId });
                record.Parameters.Add(new NpgsqlParameter { Value = amount.Nanodollars });
                record.Parameters.Add(new NpgsqlParameter { Value = at.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                if (await record.ExecuteNonQueryAsync(token) == 0)
                {
                    // This request already holds its amount (a retried call).
                    return true;
                }
            }
            await using (var hold = new NpgsqlCommand("UPDATE balances SET held = held + $2 WHERE key_id = $1 AND balance - held >= $2", connection, transaction))
            {
                hold.Parameters.Add(new NpgsqlParameter { Value = keyId });
                hold.Parameters.Add(new NpgsqlParameter { Value = amount.Nanodollars });
                if (await hold.ExecuteNonQueryAsync(token) != 1)
                {
                    await transaction.RollbackAsync(token);
                    return false;
                }
            }
            await transaction.CommitAsync(token);
            return true;
        }, cancellationToken);

    public Task ReleaseHoldAsync(string keyId, string requestId, CancellationToken cancellationToken) =>
        _database.RunAsync(async (connection, token) =>
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(DropHold(requestId));
            return await batch.ExecuteNonQueryAsync(token);
        }, cancellationToken);

    public Task<IReadOnlyList<BalanceChange>> HistoryAsync(string keyId, int limit, CancellationToken cancellationToken) =>
        _database.RunAsync<IReadOnlyList<BalanceChange>>(async (connection, token) =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT id, key_id, time, amount, balance_after, kind, request_id, note FROM balance_changes WHERE key_id = $1 ORDER BY id DESC LIMIT $2", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = keyId });
            command.Parameters.Add(new NpgsqlParameter { Value = limit });
            var changes = new List<BalanceChange>();
            await using var reader = await command.ExecuteReaderAsync(token);
            while (await reader.ReadAsync(token))
            {
                changes.Add(new BalanceChange(reader.GetInt64(0), reader.GetString(1), new DateTimeOffset(reader.GetDateTime(2)), new Money(reader.GetInt64(3)),
                    new Money(reader.GetInt64(4)), (BalanceChangeKind)reader.GetInt16(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
            return changes;
        }, cancellationToken);

    /// <summary>Drops a hold, giving its amount back to what the key has available.</summary>
    private static NpgsqlBatchCommand DropHold(string requestId)
    {
        var command = new NpgsqlBatchCommand("""
            WITH hold AS (DELETE FROM balance_holds WHERE request_id = $1 RETURNING key_id, amount)
            UPDATE balances SET held = balances.held - hold.amount FROM hold WHERE balances.key_id = hold.key_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        return command;
    }

    /// <summary>Adds <paramref name="amount"/> to the balance (creating it) and records the change with the balance after it.</summary>
    private static NpgsqlBatchCommand ChangeBalance(string keyId, Money amount, DateTimeOffset at, BalanceChangeKind kind, string? requestId, string? note, bool returning = false)
    {
        var command = new NpgsqlBatchCommand($"""
            WITH b AS (
                INSERT INTO balances (key_id, balance, held) VALUES ($1, $2, 0)
                ON CONFLICT (key_id) DO UPDATE SET balance = balances.balance + EXCLUDED.balance
                RETURNING balance)
            INSERT INTO balance_changes (key_id, time, amount, balance_after, kind, request_id, note)
            SELECT $1, $3, $2, b.balance, $4, $5, $6 FROM b
            {(returning ? "RETURNING id, balance_after" : "")}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = amount.Nanodollars });
        command.Parameters.Add(new NpgsqlParameter { Value = at.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (short)kind });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)requestId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)note ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return command;
    }
}
