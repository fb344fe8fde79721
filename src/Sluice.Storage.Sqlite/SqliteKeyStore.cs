using Microsoft.Data.Sqlite;
using Sluice.Core.Keys;

namespace Sluice.Storage.Sqlite;

/// <summary>API keys in the embedded SQLite file. Each change takes the next version number, so that
/// <see cref="ChangedSinceAsync"/> finds exactly what changed.</summary>
public sealed class SqliteKeyStore : IKeyStore
{
    private const string Columns = "id, name, plan, hash, display, created, revoked, version";

    private readonly SqliteDatabase _database;

    public SqliteKeyStore(SqliteDatabase database)
    {
        _database = database;
    }

    public async Task<ApiKey> AddAsync(ApiKey key, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO api_keys ({Columns})
            VALUES ($id, $name, $plan, $hash, $display, $created, $revoked,
                    (SELECT COALESCE(MAX(version), 0) + 1 FROM api_keys))
            RETURNING {Columns};
            """;
        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$name", key.Name);
        command.Parameters.AddWithValue("$plan", key.Plan);
        command.Parameters.AddWithValue("$hash", key.Hash.ToBytes());
        command.Parameters.AddWithValue("$display", key.Display);
        command.Parameters.AddWithValue("$created", key.Created.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$revoked", (object?)key.Revoked?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        return (await ReadAsync(command, cancellationToken))[0];
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM api_keys ORDER BY created, id;";
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<ApiKey?> FindAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM api_keys WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        var keys = await ReadAsync(command, cancellationToken);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<ApiKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE api_keys
               SET revoked = COALESCE(revoked, $at),
                   version = (SELECT MAX(version) + 1 FROM api_keys)
             WHERE id = $id
            RETURNING {Columns};
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        var keys = await ReadAsync(command, cancellationToken);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<ApiKey?> UpdateAsync(string id, string? name, string? plan, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE api_keys
               SET name = COALESCE($name, name),
                   plan = COALESCE($plan, plan),
                   version = (SELECT MAX(version) + 1 FROM api_keys)
             WHERE id = $id
            RETURNING {Columns};
            """;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$name", (object?)name ?? DBNull.Value);
        command.Parameters.AddWithValue("$plan", (object?)plan ?? DBNull.Value);
        var keys = await ReadAsync(command, cancellationToken);
        return keys.Count == 0 ? null : keys[0];
    }

    public async Task<IReadOnlyList<ApiKey>> ChangedSinceAsync(long version, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM api_keys WHERE version > $version ORDER BY version;";
        command.Parameters.AddWithValue("$version", version);
        return await ReadAsync(command, cancellationToken);
    }

    private static async Task<List<ApiKey>> ReadAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var keys = new List<ApiKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new ApiKey
            {
                Id = reader.GetString(0),
                Name = reader.GetString(1),
                Plan = reader.GetString(2),
                Hash = KeyHash.FromBytes((byte[])reader.GetValue(3)),
                Display = reader.GetString(4),
                Created = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                Revoked = reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                Version = reader.GetInt64(7),
            });
        }
        return keys;
    }
}
