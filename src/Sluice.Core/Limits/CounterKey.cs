using System.Globalization;

namespace Sluice.Core.Limits;

/// <summary>
/// Names one counter: a policy of a plan (<see cref="Scope"/>, e.g. <c>free:key</c>) applied to one subject,
/// either a text (a key id) or a number (a client address group). A struct so that a look-up allocates nothing.
/// </summary>
public readonly struct CounterKey : IEquatable<CounterKey>
{
    public CounterKey(string scope, string subject)
    {
        Scope = scope;
        Text = subject;
    }

    public CounterKey(string scope, UInt128 subject)
    {
        Scope = scope;
        Number = subject;
    }

    internal CounterKey(string scope, string? text, UInt128 number)
    {
        Scope = scope;
        Text = text;
        Number = number;
    }

    /// <summary>The plan's policy this counter belongs to, e.g. <c>free:key</c>.</summary>
    public string Scope { get; }

    /// <summary>The subject when it is a text (a key id); null for a numeric subject.</summary>
    public string? Text { get; }

    /// <summary>The subject when it is a number (an address group); zero for a text subject.</summary>
    public UInt128 Number { get; }

    public bool Equals(CounterKey other) =>
        Number == other.Number
        && string.Equals(Text, other.Text, StringComparison.Ordinal)
        && string.Equals(Scope, other.Scope, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is CounterKey other && Equals(other);

    public override int GetHashCode() =>
        HashCode.Combine(Scope.GetHashCode(StringComparison.Ordinal), Text?.GetHashCode(StringComparison.Ordinal) ?? 0, Number);

    /// <summary>A stable text form, e.g. <c>free:key|key_abc</c> or <c>free:ip|#ffffcb007107</c>, used as a storage key.</summary>
    public override string ToString() =>
        Text is not null
            ? string.Concat(Scope, "|", Text)
            : string.Concat(Scope, "|#", Number.ToString("x", CultureInfo.InvariantCulture));

    public static bool operator ==(CounterKey left, CounterKey right) => left.Equals(right);

    public static bool operator !=(CounterKey left, CounterKey right) => !left.Equals(right);
}
