using Sluice.Core.Billing;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;
using Sluice.Core.Usage;

namespace Sluice.Gateway.SelfService;

/// <summary>What a key can learn about itself: its limits right now, its balance, its usage.</summary>
public sealed class AccountService
{
    private readonly IRequestLimiter _limiter;
    private readonly IUsageLedger _ledger;
    private readonly IBalanceStore _balances;
    private readonly TimeProvider _time;

    public AccountService(IRequestLimiter limiter, IUsageLedger ledger, IBalanceStore balances, TimeProvider time)
    {
        _limiter = limiter;
        _ledger = ledger;
        _balances = balances;
        _time = time;
    }

    /// <summary>Every limit of the key's plan (key, IP from where it asks, each model cap), without counting anything.</summary>
    public async Task<AdmissionResult> LimitsAsync(ApiKey key, Plan plan, UInt128 addressGroup, CancellationToken cancellationToken)
    {
        LimitCheck[] checks = [.. plan.KeyChecksFor(key.Id, includeCaps: true), .. plan.IpChecksFor(addressGroup)];
        return await _limiter.PeekAsync(checks, cancellationToken);
    }

    /// <summary>The balance: a prepaid key's own; for a free or unlimited key, minus everything it has used.</summary>
    public async Task<(Money Balance, Money Held)> BalanceAsync(ApiKey key, Plan plan, CancellationToken cancellationToken)
    {
        if (plan.Billing == BillingMode.Prepaid)
        {
            var state = await _balances.GetAsync(key.Id, cancellationToken);
            return (state.Balance, state.Held);
        }
        return (-await SpentAsync(key.Id, DateTimeOffset.UnixEpoch, _time.GetUtcNow().AddDays(1), cancellationToken), Money.Zero);
    }

    public async Task<Money> SpentAsync(string keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var rows = await _ledger.SummarizeAsync(keyId, since, until, cancellationToken);
        var total = Money.Zero;
        foreach (var row in rows)
        {
            total += row.Cost;
        }
        return total;
    }

    /// <summary>The start of the plan's current day: midnight in its zone, or 24 hours ago for a rolling day.</summary>
    public DateTimeOffset DayStart(Plan plan)
    {
        var now = _time.GetUtcNow();
        if (plan.DayZone is not { } zone)
        {
            return now.AddDays(-1);
        }
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return new DateTimeOffset(local.Date, local.Offset);
    }

    /// <summary>Usage since <paramref name="since"/>, by model.</summary>
    public async Task<IReadOnlyList<UsageSummary>> UsageByModelAsync(string keyId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var rows = await _ledger.SummarizeAsync(keyId, since, _time.GetUtcNow().AddSeconds(1), cancellationToken);
        return rows.GroupBy(r => r.Model, StringComparer.Ordinal)
            .Select(g => new UsageSummary(g.Min(r => r.Day), keyId, g.Key, g.Sum(r => r.Requests), g.Sum(r => r.PromptTokens), g.Sum(r => r.CachedTokens),
                g.Sum(r => r.CompletionTokens), g.Aggregate(Money.Zero, (sum, r) => sum + r.Cost), g.Sum(r => r.Failed)))
            .OrderBy(r => r.Model, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Usage per UTC day and model between two instants.</summary>
    public Task<IReadOnlyList<UsageSummary>> UsageByDayAsync(string keyId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken) =>
        _ledger.SummarizeAsync(keyId, since, until, cancellationToken);

    public TimeProvider Time => _time;
}
