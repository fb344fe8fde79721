namespace Sluice.Core.Usage;

/// <summary>The usage ledger: every metered call, exactly once. Implemented once per backend (SQLite, PostgreSQL).</summary>
public interface IUsageLedger
{
    /// <summary>
    /// Writes records in one transaction. A record whose request id is already in the ledger is skipped (so a
    /// batch written twice, e.g. after a timeout, counts once). A record with <see cref="UsageRecord.Held"/> settles
    /// its prepaid hold in the same transaction.
    /// </summary>
    Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken);

    /// <summary>Usage per UTC day, key and model from <paramref name="since"/> (inclusive) until <paramref name="until"/> (exclusive).</summary>
    Task<IReadOnlyList<UsageSummary>> SummarizeAsync(string? keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>The ledger rows of one request, for tests and audits.</summary>
    Task<UsageRecord?> FindAsync(string requestId, CancellationToken cancellationToken);
}
