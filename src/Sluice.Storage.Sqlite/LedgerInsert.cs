using System.Text;
using Microsoft.Data.Sqlite;
using Sluice.Core.Usage;
using SQLitePCL;

namespace Sluice.Storage.Sqlite;

/// <summary>
/// The ledger's one hot statement, prepared once per batch on the connection's own SQLite handle and bound by
/// position. Microsoft.Data.Sqlite's parameters box every value, look each name up in the statement and
/// allocate a binder per value per row (about 2 KB and half the time of a row, measured in
/// <c>LedgerBenchmarks</c>); this binds the same values directly. Errors surface as <see cref="SqliteException"/>,
/// as from any other command.
/// </summary>
internal sealed class LedgerInsert : IDisposable
{
    private const int MaxStackText = 512;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public LedgerInsert(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    /// <summary>Inserts the row; false when the ledger already had it (a retried batch).</summary>
    public bool Execute(UsageRecord record)
    {
        try
        {
            BindText(1, record.RequestId);
            Check(raw.sqlite3_bind_int64(_statement, 2, record.Time.ToUnixTimeMilliseconds()));
            BindText(3, record.KeyId);
            BindText(4, record.ClientIp);
            BindText(5, record.Model);
            BindText(6, record.Endpoint);
            Check(raw.sqlite3_bind_int64(_statement, 7, record.Status));
            Check(raw.sqlite3_bind_int64(_statement, 8, record.PromptTokens));
            Check(raw.sqlite3_bind_int64(_statement, 9, record.CachedTokens));
            Check(raw.sqlite3_bind_int64(_statement, 10, record.CompletionTokens));
            Check(raw.sqlite3_bind_int64(_statement, 11, record.Cost.Nanodollars));
            Check(raw.sqlite3_bind_int64(_statement, 12, record.LatencyMs));
            Check(raw.sqlite3_bind_int64(_statement, 13, record.Streamed ? 1 : 0));
            Check(raw.sqlite3_bind_int64(_statement, 14, (int)record.Outcome));
            Check(raw.sqlite3_bind_int64(_statement, 15, (int)record.Source));
            Check(record.Held is { } held ? raw.sqlite3_bind_int64(_statement, 16, held.Nanodollars) : raw.sqlite3_bind_null(_statement, 16));
            var step = raw.sqlite3_step(_statement);
            if (step != raw.SQLITE_DONE)
            {
                Check(step);
                throw new SqliteException($"Inserting a ledger row returned {step} instead of SQLITE_DONE.", step);
            }
            return raw.sqlite3_changes(_db) == 1;
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void BindText(int index, string value)
    {
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> buffer = length > MaxStackText ? new byte[length] : stackalloc byte[MaxStackText];
        var written = Encoding.UTF8.GetBytes(value, buffer);
        // SQLite copies the bytes (SQLITE_TRANSIENT), so the buffer may go when this returns.
        Check(raw.sqlite3_bind_text(_statement, index, buffer[..written]));
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_ROW && result != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(result, _db);
        }
    }
}
