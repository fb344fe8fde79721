namespace Sluice.Core.Billing;

/// <summary>Prepaid balances. A call holds its estimated price before it is forwarded and is settled to its actual
/// cost when its ledger record is written (<see cref="Usage.IUsageLedger.AppendAsync"/>).</summary>
public interface IBalanceStore
{
    Task<BalanceState> GetAsync(string keyId, CancellationToken cancellationToken);

    /// <summary>Adds <paramref name="amount"/> (positive) to the balance and records it.</summary>
    Task<BalanceChange> CreditAsync(string keyId, Money amount, string? note, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically holds <paramref name="amount"/> for <paramref name="requestId"/> if the balance minus what is already
    /// held covers it; false otherwise. Concurrent holds can never together exceed the balance.
    /// </summary>
    Task<bool> TryHoldAsync(string keyId, string requestId, Money amount, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Drops a hold without charging (the call was refused or failed before anything was owed).</summary>
    Task ReleaseHoldAsync(string keyId, string requestId, CancellationToken cancellationToken);

    /// <summary>The newest changes first.</summary>
    Task<IReadOnlyList<BalanceChange>> HistoryAsync(string keyId, int limit, CancellationToken cancellationToken);
}
