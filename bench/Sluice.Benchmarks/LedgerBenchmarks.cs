using BenchmarkDotNet.Attributes;
using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Storage.Sqlite;

namespace Sluice.Benchmarks;

/// <summary>
/// The embedded ledger's write path: one batch of finished calls appended to a real SQLite file (WAL), as the
/// background writer does after every flush interval. Every admitted request costs one row.
/// </summary>
/// A batch takes a few milliseconds, so each iteration is one batch, with enough warm-up for the JIT's last tier.
[MemoryDiagnoser]
[WarmupCount(40)]
[IterationCount(30)]
public class LedgerBenchmarks
{
    private const int BatchSize = 500;

    private string _folder = null!;
    private SqliteUsageStore _store = null!;
    private UsageRecord[] _batch = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("sluice-ledger-bench").FullName;
        var database = new SqliteDatabase(Path.Combine(_folder, "sluice.db"));
        database.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        _store = new SqliteUsageStore(database);
        _batch = new UsageRecord[BatchSize];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [IterationSetup]
    public void NextBatch()
    {
        // Fresh request ids for every batch, as the gateway writes them (a repeated id would be skipped as a retry).
        for (var i = 0; i < BatchSize; i++)
        {
            var n = _next++;
            _batch[i] = new UsageRecord
            {
                RequestId = $"req_bench{n:D16}",
                Time = SteppingClock.Start.AddMilliseconds(n),
                KeyId = "key_0123456789abcdef",
                ClientIp = "203.0.113.7",
                Model = "gpt-4o-mini",
                Endpoint = "/v1/chat/completions",
                Status = 200,
                PromptTokens = 25,
                CompletionTokens = 9,
                Cost = new Money(9_150),
                LatencyMs = 3,
                Outcome = UsageOutcome.Completed,
                Source = UsageSource.Upstream,
            };
        }
    }

    /// <summary>One batch of 500 rows; divide by 500 for the cost of one request's row.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public Task AppendBatch() => _store.AppendAsync(_batch, CancellationToken.None);
}
