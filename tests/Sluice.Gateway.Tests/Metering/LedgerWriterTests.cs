using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Tests.Metering;

/// <summary>The ledger writer never loses a row: it retries while the database refuses, and on a stop with the
/// database still down it saves the rows and writes them at the next start.</summary>
public sealed class LedgerWriterTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "sluice-ledger-" + Guid.NewGuid().ToString("N")[..10]);

    public LedgerWriterTests() => Directory.CreateDirectory(_dataDir);

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private LedgerWriter Writer(IUsageLedger ledger) => new(ledger,
        Options.Create(new MeteringOptions { BatchSize = 3, FlushInterval = TimeSpan.FromMilliseconds(10), BufferCapacity = 100 }),
        new DataDirectory(Options.Create(new SluiceOptions { DataDir = _dataDir })), TimeProvider.System, NullLogger<LedgerWriter>.Instance);

    private static UsageRecord Record(int i) => new()
    {
        RequestId = "r" + i,
        Time = DateTimeOffset.UnixEpoch.AddSeconds(i),
        KeyId = "key_a",
        ClientIp = "127.0.0.1",
        Model = "gpt-4o-mini",
        Endpoint = "/v1/chat/completions",
        Status = 200,
        Cost = new Money(i),
    };

    [Fact]
    public async Task DatabaseFailsForAWhile_EveryRowIsWrittenOnce()
    {
        var ledger = new FlakyLedger { FailuresLeft = 3 };
        var writer = Writer(ledger);
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 10; i++)
        {
            await writer.WriteAsync(Record(i));
        }
        await writer.FlushAsync(TimeSpan.FromSeconds(20));
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => "r" + i).Order(), ledger.Rows.Keys.Order());
        Assert.Equal(0, ledger.FailuresLeft);
        Assert.Equal(10, writer.Written);
    }

    [Fact]
    public async Task DatabaseDownAtStop_RowsAreSaved_AndWrittenAtTheNextStart()
    {
        var down = new FlakyLedger { FailuresLeft = int.MaxValue };
        var writer = Writer(down);
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 7; i++)
        {
            await writer.WriteAsync(Record(i));
        }
        using (var hostGivesUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await writer.StopAsync(hostGivesUp.Token);
        }
        Assert.Empty(down.Rows);
        Assert.True(File.Exists(Path.Combine(_dataDir, "ledger-pending.jsonl")));

        var up = new FlakyLedger();
        var next = Writer(up);
        await next.StartAsync(CancellationToken.None);
        await next.FlushAsync(TimeSpan.FromSeconds(10));
        await next.StopAsync(CancellationToken.None);

        Assert.Equal(7, up.Rows.Count);
        Assert.Equal(new Money(6), up.Rows["r6"].Cost);
        Assert.False(File.Exists(Path.Combine(_dataDir, "ledger-pending.jsonl")));
    }

    private sealed class FlakyLedger : IUsageLedger
    {
        public ConcurrentDictionary<string, UsageRecord> Rows { get; } = new();

        public int FailuresLeft { get; set; }

        public Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
        {
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                throw new InvalidOperationException("database unavailable");
            }
            foreach (var record in records)
            {
                Rows.TryAdd(record.RequestId, record);
            }
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<UsageSummary>> SummarizeAsync(string? keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<UsageRecord?> FindAsync(string requestId, CancellationToken cancellationToken) => Task.FromResult(Rows.GetValueOrDefault(requestId));
    }
}
