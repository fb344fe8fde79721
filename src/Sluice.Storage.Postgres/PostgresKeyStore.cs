using Npgsql;
using NpgsqlTypes;
using Sluice.Core.Keys;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>
/// API keys in PostgreSQL, shared by every instance. Each change takes the next number from <c>store_versions</c>
/// (whose row lock orders the writers, so <see cref="ChangedSinceAsync"/> never skips a change that commits late) and
/// sends a NOTIFY on <see cref="Channel"/> in the same transaction, delivered when it commits.
/// </summary>
/// <remarks>Every method throws <see cref="StoreUnavailableException"/> when the server cannot be reached.</remarks>
public sealed class PostgresKeyStore : IKeyStore
{
    /// <summary>The LISTEN/NOTIFY channel of key changes; the payload is the change number.</summary>
    public const string Channel = "sluice_keys";

    private const string Columns = "id, name, plan, hash, display, created, revoked, version";

    private const string TakeVersion = "UPDATE store_versions SET value = value + 1 WHERE name = 'api_keys'";

    private const string Notify = "SELECT pg_notify('" + Channel + "', value::text) FROM store_versions WHERE name = 'api_keys'";

    private readonly PostgresDatabase _database;

    public PostgresKeyStore(PostgresDatabase database)
    {
        _database = database;
    }

    public async Task<ApiKey> AddAsync(ApiKey key, CancellationToken cancellationToken)
    {
        try
        {
            return await _database.RunAsync(async (connection, token) =>
            {
                // One round trip, one implicit transaction: take the number, insert, notify.
                await using var batch = new NpgsqlBatch(connection);
                batch.BatchCommands.Add(Command($"""
                    WITH next AS ({TakeVersion} RETURNING value)
                    INSERT INTO api_keys ({Columns})
                    SELECT $1, $2, $3, $4, $5, $6, $7, next.value FROM next
                    RETURNING {Columns}
                    """, key.Id, key.Name, key.Plan, key.Hash.ToBytes(), key.Display, Timestamp(key.Created), Timestamp(key.Revoked)));
                batch.BatchCommands.Add(new NpgsqlBatchCommand(Notify));
                return (await ReadAsync(batch, token))[0];
            }, cancellationToken);
        }
        catch (PostgresException exception) when (exception is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "api_keys_pkey" })
        {
            // Tried twice because the connection broke, and the first attempt had committed: the row is this key.
            var stored = await FindAsync(key.Id, cancellationToken);
            if (stored is not null && stored.Hash == key.Hash)
            {
                return stored;
            }
            throw;
        }
    }

    public Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM api_keys ORDER BY created, id", [], cancellationToken);

    public async Task<ApiKey?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var keys = await QueryAsync($"SELECT {Columns} FROM api_keys WHERE id = $1", [id], cancellationToken);
        return keys.Count == 0 ? null : keys[0];
    }

    public Task<ApiKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken) =>
        ChangeAsync(id, "revoked = COALESCE(revoked, $2)", [Timestamp(at)], cancellationToken);

    public Task<ApiKey?> UpdateAsync(string id, string? name, string? plan, CancellationToken cancellationToken) =>
        ChangeAsync(id, "name = COALESCE($2, name), plan = COALESCE($3, plan)", [Text(name), Text(plan)], cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ChangedSinceAsync(long version, CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {Columns} FROM api_keys WHERE version > $1 ORDER BY version", [version], cancellationToken);

    /// <summary>
    /// Copies a key from another installation as it is (id, hash, times): adds it when it is missing, records its
    /// revocation when only the copy here is still active, and otherwise leaves it alone, so copying twice changes
    /// nothing. A different key under the same id, or the same secret under another id, is refused.
    /// </summary>
    /// <exception cref="InvalidOperationException">The key conflicts with a different key stored here.</exception>
    public async Task<KeyImportOutcome> ImportAsync(ApiKey key, CancellationToken cancellationToken)
    {
        List<(bool Inserted, ApiKey Key)> rows;
        try
        {
            rows = await _database.RunAsync(async (connection, token) =>
            {
                await using var batch = new NpgsqlBatch(connection);
                batch.BatchCommands.Add(Command($"""
                    WITH next AS ({TakeVersion} RETURNING value)
                    INSERT INTO api_keys ({Columns})
                    SELECT $1, $2, $3, $4, $5, $6, $7, next.value FROM next
                    ON CONFLICT (id) DO UPDATE SET revoked = EXCLUDED.revoked, version = EXCLUDED.version
                     WHERE api_keys.revoked IS NULL AND EXCLUDED.revoked IS NOT NULL AND api_keys.hash = EXCLUDED.hash
                    RETURNING xmax = 0, {Columns}
                    """, key.Id, key.Name, key.Plan, key.Hash.ToBytes(), key.Display, Timestamp(key.Created), Timestamp(key.Revoked)));
                batch.BatchCommands.Add(new NpgsqlBatchCommand(Notify));
                var result = new List<(bool, ApiKey)>();
                await using var reader = await batch.ExecuteReaderAsync(token);
                while (await reader.ReadAsync(token))
                {
                    result.Add((reader.GetBoolean(0), Read(reader, 1)));
                }
                return result;
            }, cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new InvalidOperationException($"Key {key.Id} ({key.Display}) has the same secret as another key already stored under a different id.", exception);
        }
        if (rows.Count == 1)
        {
            return rows[0].Inserted ? KeyImportOutcome.Added : KeyImportOutcome.Revoked;
        }
        var existing = await FindAsync(key.Id, cancellationToken);
        if (existing is null || existing.Hash != key.Hash)
        {
            throw new InvalidOperationException($"Key id {key.Id} is already stored here for a different key ({existing?.Display}), not {key.Display}.");
        }
        return KeyImportOutcome.Unchanged;
    }

    private async Task<IReadOnlyList<ApiKey>> QueryAsync(string sql, object[] values, CancellationToken cancellationToken) =>
        await _database.RunAsync(async (connection, token) =>
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(Command(sql, values));
            return await ReadAsync(batch, token);
        }, cancellationToken);

    /// <summary>Applies <paramref name="assignments"/> (parameters from <c>$2</c>) to one key under a new version and
    /// tells the other instances; null when there is no such key (then nothing changes, the version included).</summary>
    private async Task<ApiKey?> ChangeAsync(string id, string assignments, object[] values, CancellationToken cancellationToken)
    {
        var keys = await _database.RunAsync(async (connection, token) =>
        {
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(Command($"""
                WITH next AS ({TakeVersion} AND EXISTS (SELECT 1 FROM api_keys WHERE id = $1) RETURNING value)
                UPDATE api_keys SET {assignments}, version = next.value
                  FROM next
                 WHERE id = $1
                RETURNING {Columns}
                """, [id, .. values]));
            batch.BatchCommands.Add(Command(Notify + " AND EXISTS (SELECT 1 FROM api_keys WHERE id = $1)", id));
            return await ReadAsync(batch, token);
        }, cancellationToken);
        return keys.Count == 0 ? null : keys[0];
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        }
        return command;
    }

    /// <summary>A text parameter (also when null).</summary>
    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    /// <summary>A timestamptz parameter (also when null, whose type PostgreSQL could not infer).</summary>
    private static NpgsqlParameter Timestamp(DateTimeOffset? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = value is { } at ? at.ToUniversalTime() : DBNull.Value };

    private static async Task<IReadOnlyList<ApiKey>> ReadAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        var keys = new List<ApiKey>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(Read(reader, 0));
        }
        return keys;
    }

    private static ApiKey Read(NpgsqlDataReader reader, int first) => new()
    {
        Id = reader.GetString(first),
        Name = reader.GetString(first + 1),
        Plan = reader.GetString(first + 2),
        Hash = KeyHash.FromBytes(reader.GetFieldValue<byte[]>(first + 3)),
        Display = reader.GetString(first + 4),
        Created = reader.GetFieldValue<DateTimeOffset>(first + 5),
        Revoked = reader.IsDBNull(first + 6) ? null : reader.GetFieldValue<DateTimeOffset>(first + 6),
        Version = reader.GetInt64(first + 7),
    };
}
