using Sluice.Core.Billing;
using Sluice.Core.Usage;

namespace Sluice.Testing.Stores;

/// <summary>
/// What every backend's usage ledger and balance store must do: exactly-once ledger rows, exact sums, holds that
/// can never together overdraw, settlement in the same transaction as the ledger row.
/// </summary>
public abstract class UsageStoreConformance
{
    private static readonly DateTimeOffset Day1 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A store; several calls give instances over the same data (as several gateway processes would).</summary>
    protected abstract (IUsageLedger Ledger, IBalanceStore Balances) CreateStore();

    private static UsageRecord Record(string id, string key, string model, DateTimeOffset time, long prompt = 10, long completion = 5, decimal costUsd = 0.001m, Money? held = null) => new()
    {
        RequestId = id,
        Time = time,
        KeyId = key,
        ClientIp = "203.0.113.7",
        Model = model,
        Endpoint = "/v1/chat/completions",
        Status = 200,
        PromptTokens = prompt,
        CachedTokens = 2,
        CompletionTokens = completion,
        Cost = Money.FromUsd(costUsd),
        LatencyMs = 42,
        Streamed = true,
        Outcome = UsageOutcome.Completed,
        Source = UsageSource.Upstream,
        Held = held,
    };

    [Fact]
    public async Task Append_SameRequestTwice_IsInTheLedgerOnce()
    {
        var (ledger, _) = CreateStore();
        var key = Unique();
        var record = Record("r-" + key, key, "gpt-4o-mini", Day1);

        await ledger.AppendAsync([record], CancellationToken.None);
        await ledger.AppendAsync([record, record], CancellationToken.None);

        var rows = await ledger.SummarizeAsync(key, Day1.AddDays(-1), Day1.AddDays(1), CancellationToken.None);
        var row = Assert.Single(rows);
        Assert.Equal(1, row.Requests);
        var stored = await ledger.FindAsync(record.RequestId, CancellationToken.None);
        Assert.Equal(record, stored);
    }

    [Fact]
    public async Task Append_EveryColumn_ReadBackExactly_NonAsciiTextAndLongValuesIncluded()
    {
        var (ledger, _) = CreateStore();
        var key = Unique();
        var record = Record("r-" + key, key, "modèle-日本語-" + new string('x', 600), Day1, prompt: long.MaxValue / 4, completion: 0) with
        {
            ClientIp = "2001:db8:85a3:8d3::",
            Endpoint = "/v1/embeddings",
            Status = 499,
            Streamed = false,
            Outcome = UsageOutcome.ClientAborted,
            Source = UsageSource.Tokenizer,
        };
        var without = Record("s-" + key, key, "gpt-4o-mini", Day1.AddSeconds(1)) with { Held = null };

        await ledger.AppendAsync([record, without], CancellationToken.None);

        Assert.Equal(record, await ledger.FindAsync(record.RequestId, CancellationToken.None));
        Assert.Equal(without, await ledger.FindAsync(without.RequestId, CancellationToken.None));
    }

    [Fact]
    public async Task Summarize_GroupsByUtcDayKeyAndModel_WithExactSums()
    {
        var (ledger, _) = CreateStore();
        var key = Unique();
        var other = Unique();
        await ledger.AppendAsync(
        [
            Record("a" + key, key, "gpt-4o", Day1, 100, 10, 0.000_000_123m),
            Record("b" + key, key, "gpt-4o", Day1.AddHours(1), 50, 5, 0.000_000_001m),
            Record("f" + key, key, "gpt-4o", Day1.AddHours(1), 0, 0, 0m) with { Outcome = UsageOutcome.UpstreamFailed },
            Record("c" + key, key, "gpt-4o-mini", Day1.AddHours(2), 7, 3, 0.5m),
            Record("d" + key, key, "gpt-4o", Day1.AddDays(1), 1, 1, 1m),
            Record("e" + key, other, "gpt-4o", Day1, 1, 1, 1m),
        ], CancellationToken.None);

        var rows = await ledger.SummarizeAsync(key, Day1.Date, Day1.Date.AddDays(1), CancellationToken.None);

        Assert.Collection(rows,
            r => Assert.Equal((DateOnly.FromDateTime(Day1.UtcDateTime), "gpt-4o", 3L, 1L, 150L, 6L, 15L, 124L), (r.Day, r.Model, r.Requests, r.Failed, r.PromptTokens, r.CachedTokens, r.CompletionTokens, r.Cost.Nanodollars)),
            r => Assert.Equal(("gpt-4o-mini", 1L, 0L, Money.FromUsd(0.5m)), (r.Model, r.Requests, r.Failed, r.Cost)));
        var all = await ledger.SummarizeAsync(null, Day1.AddDays(-1), Day1.AddDays(3), CancellationToken.None);
        Assert.Equal(3, all.Count(r => r.KeyId == key));
        Assert.Single(all, r => r.KeyId == other);
    }

    [Fact]
    public async Task Credit_AddsToTheBalance_AndKeepsAHistory()
    {
        var (_, balances) = CreateStore();
        var key = Unique();

        await balances.CreditAsync(key, Money.FromUsd(5m), "first top-up", Day1, CancellationToken.None);
        var second = await balances.CreditAsync(key, Money.FromUsd(2.5m), null, Day1.AddMinutes(1), CancellationToken.None);

        Assert.Equal(Money.FromUsd(7.5m), second.BalanceAfter);
        Assert.Equal(Money.FromUsd(7.5m), (await balances.GetAsync(key, CancellationToken.None)).Balance);
        var history = await balances.HistoryAsync(key, 10, CancellationToken.None);
        Assert.Equal([Money.FromUsd(2.5m), Money.FromUsd(5m)], history.Select(h => h.Amount));
        Assert.Equal("first top-up", history[1].Note);
        Assert.All(history, h => Assert.Equal(BalanceChangeKind.Credit, h.Kind));
    }

    [Fact]
    public async Task Hold_OnlyWhatIsAvailable_ThenSettledToTheActualCostWithTheLedgerRow()
    {
        var (ledger, balances) = CreateStore();
        var key = Unique();
        await balances.CreditAsync(key, Money.FromUsd(1m), null, Day1, CancellationToken.None);

        Assert.True(await balances.TryHoldAsync(key, "h1" + key, Money.FromUsd(0.6m), Day1, CancellationToken.None));
        Assert.False(await balances.TryHoldAsync(key, "h2" + key, Money.FromUsd(0.5m), Day1, CancellationToken.None));
        Assert.Equal(Money.FromUsd(0.4m), (await balances.GetAsync(key, CancellationToken.None)).Available);
        // A retried hold for the same request holds nothing more.
        Assert.True(await balances.TryHoldAsync(key, "h1" + key, Money.FromUsd(0.6m), Day1, CancellationToken.None));
        Assert.Equal(Money.FromUsd(0.4m), (await balances.GetAsync(key, CancellationToken.None)).Available);

        var record = Record("h1" + key, key, "gpt-4o", Day1, costUsd: 0.25m, held: Money.FromUsd(0.6m));
        await ledger.AppendAsync([record], CancellationToken.None);
        await ledger.AppendAsync([record], CancellationToken.None);

        var state = await balances.GetAsync(key, CancellationToken.None);
        Assert.Equal(Money.FromUsd(0.75m), state.Balance);
        Assert.Equal(Money.Zero, state.Held);
        var usage = Assert.Single(await balances.HistoryAsync(key, 10, CancellationToken.None), h => h.Kind == BalanceChangeKind.Usage);
        Assert.Equal(-Money.FromUsd(0.25m), usage.Amount);
        Assert.Equal("h1" + key, usage.RequestId);
    }

    [Fact]
    public async Task ReleaseHold_GivesTheAmountBackWithoutCharging()
    {
        var (_, balances) = CreateStore();
        var key = Unique();
        await balances.CreditAsync(key, Money.FromUsd(1m), null, Day1, CancellationToken.None);
        Assert.True(await balances.TryHoldAsync(key, "x" + key, Money.FromUsd(1m), Day1, CancellationToken.None));

        await balances.ReleaseHoldAsync(key, "x" + key, CancellationToken.None);

        var state = await balances.GetAsync(key, CancellationToken.None);
        Assert.Equal((Money.FromUsd(1m), Money.Zero), (state.Balance, state.Held));
    }

    [Fact]
    public async Task Hold_NoBalanceYet_IsRefused()
    {
        var (_, balances) = CreateStore();
        Assert.False(await balances.TryHoldAsync(Unique(), "n", Money.FromUsd(0.01m), Day1, CancellationToken.None));
    }

    [Fact]
    public async Task Holds_ManyConcurrentFromSeveralInstances_NeverExceedTheBalance()
    {
        var stores = Enumerable.Range(0, 3).Select(_ => CreateStore().Balances).ToArray();
        var key = Unique();
        await stores[0].CreditAsync(key, Money.FromUsd(1m), null, Day1, CancellationToken.None);
        var granted = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
        {
            if (await stores[i % stores.Length].TryHoldAsync(key, $"c{i}-{key}", Money.FromUsd(0.1m), Day1, token))
            {
                Interlocked.Increment(ref granted);
            }
        });

        Assert.Equal(10, granted);
        var state = await stores[0].GetAsync(key, CancellationToken.None);
        Assert.Equal(Money.FromUsd(1m), state.Held);
        Assert.Equal(Money.Zero, state.Available);
    }

    private static string Unique() => "key_" + Guid.NewGuid().ToString("N")[..16];
}
