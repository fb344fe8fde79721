namespace Sluice.Core.Billing;

/// <summary>One change of a key's balance: a credit, or a call's cost.</summary>
public sealed record BalanceChange(long Id, string KeyId, DateTimeOffset Time, Money Amount, Money BalanceAfter, BalanceChangeKind Kind, string? RequestId, string? Note);

public enum BalanceChangeKind
{
    Credit,
    Usage,
}
