namespace Sluice.Core.Billing;

/// <summary>A key's balance and the part of it held for calls in flight.</summary>
public sealed record BalanceState(string KeyId, Money Balance, Money Held)
{
    /// <summary>What a new call may be held against.</summary>
    public Money Available => Balance - Held;
}
