namespace Sluice.Core.Billing;

/// <summary>How a plan's calls are paid for.</summary>
public enum BillingMode
{
    /// <summary>No balance: usage is shown as a negative balance, which is normal.</summary>
    Free,

    /// <summary>A balance that every call draws down; a call is admitted only if the balance covers it.</summary>
    Prepaid,

    /// <summary>Usage is metered but never limited by money.</summary>
    Unlimited,
}
