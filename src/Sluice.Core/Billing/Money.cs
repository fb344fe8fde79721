using System.Globalization;

namespace Sluice.Core.Billing;

/// <summary>An amount of US dollars, held exactly as an integer number of nanodollars (10⁻⁹ USD), so that sums
/// of many tiny per-token costs never drift.</summary>
public readonly record struct Money(long Nanodollars) : IComparable<Money>
{
    public const long PerDollar = 1_000_000_000;

    public static Money Zero => default;

    public decimal Usd => (decimal)Nanodollars / PerDollar;

    /// <summary>In cents, as OpenAI's legacy billing endpoints report usage.</summary>
    public decimal Cents => (decimal)Nanodollars / (PerDollar / 100);

    public static Money FromUsd(decimal usd) => new((long)decimal.Round(usd * PerDollar, MidpointRounding.AwayFromZero));

    public static Money operator +(Money left, Money right) => new(left.Nanodollars + right.Nanodollars);

    public static Money operator -(Money left, Money right) => new(left.Nanodollars - right.Nanodollars);

    public static Money operator -(Money value) => new(-value.Nanodollars);

    public static bool operator <(Money left, Money right) => left.Nanodollars < right.Nanodollars;

    public static bool operator >(Money left, Money right) => left.Nanodollars > right.Nanodollars;

    public static bool operator <=(Money left, Money right) => left.Nanodollars <= right.Nanodollars;

    public static bool operator >=(Money left, Money right) => left.Nanodollars >= right.Nanodollars;

    public int CompareTo(Money other) => Nanodollars.CompareTo(other.Nanodollars);

    public Money Add(Money other) => this + other;

    public Money Subtract(Money other) => this - other;

    public Money Negate() => -this;

    public override string ToString() => "$" + Usd.ToString("0.00####", CultureInfo.InvariantCulture);
}
