using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Sluice.Core.Limits;

/// <summary>
/// Names one counter: a policy of a plan (<see cref="Scope"/>, e.g. <c>free:key</c>) applied to one subject,
/// either a text (a key id) or a number (a client address group). A struct so that a look-up allocates nothing.
/// <para>
/// It also carries the form the embedded limiter finds counters by (<see cref="Id"/>), computed once, when the key
/// is made (where the caller has the key id at hand): the scope as a small number, and the subject as 128 bits
/// (the number itself, or the XxHash128 of the text). So the limiter never reads a string to find a counter.
/// </para>
/// </summary>
public readonly struct CounterKey : IEquatable<CounterKey>
{
    private readonly CounterId _id;

    public CounterKey(string scope, string subject)
        : this(scope, CounterScopes.IdOf(scope), subject, 0)
    {
    }

    public CounterKey(string scope, UInt128 subject)
        : this(scope, CounterScopes.IdOf(scope), null, subject)
    {
    }

    internal CounterKey(string scope, int scopeId, string? text, UInt128 number)
    {
        Scope = scope;
        Text = text;
        _id = CounterId.Of(scopeId, text, number);
    }

    /// <summary>The plan's policy this counter belongs to, e.g. <c>free:key</c>.</summary>
    public string Scope { get; }

    /// <summary>The subject when it is a text (a key id); null for a numeric subject.</summary>
    public string? Text { get; }

    /// <summary>The subject when it is a number (an address group); zero for a text subject.</summary>
    public UInt128 Number => Text is null ? _id.Subject : 0;

    /// <summary>The identity the embedded limiter's table uses.</summary>
    internal CounterId Id => _id;

    public bool Equals(CounterKey other) =>
        _id.Hash == other._id.Hash
        && Number == other.Number
        && string.Equals(Text, other.Text, StringComparison.Ordinal)
        && string.Equals(Scope, other.Scope, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is CounterKey other && Equals(other);

    public override int GetHashCode() => _id.Hash;

    /// <summary>A stable text form, e.g. <c>free:key|key_abc</c> or <c>free:ip|#ffffcb007107</c>, used as a storage key.</summary>
    public override string ToString() =>
        Text is not null
            ? string.Concat(Scope, "|", Text)
            : string.Concat(Scope, "|#", Number.ToString("x", CultureInfo.InvariantCulture));

    public static bool operator ==(CounterKey left, CounterKey right) => left.Equals(right);

    public static bool operator !=(CounterKey left, CounterKey right) => !left.Equals(right);
}

/// <summary>
/// A counter as the embedded limiter's table holds it, with no reference to any object: <see cref="Tag"/> is the
/// scope's number (<see cref="CounterScopes"/>) shifted left once, with the low bit set for a text subject;
/// <see cref="Subject"/> is the number, or the XxHash128 of the text's UTF-16 code units. Two different key ids
/// would share a counter only if their 128-bit hashes collided: with a million keys, a chance of about 10⁻²⁷.
/// </summary>
internal readonly record struct CounterId(UInt128 Subject, int Tag, int Hash)
{
    /// <summary>The number of the counter's scope (<see cref="CounterScopes"/>).</summary>
    public int ScopeId => Tag >> 1;

    /// <summary>Whether the subject is a text's hash (a key id) rather than a number (an address group).</summary>
    public bool IsText => (Tag & 1) == 1;

    public static CounterId Of(int scopeId, string? text, UInt128 number) =>
        Of(scopeId, text is not null, text is null ? number : XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text.AsSpan())));

    /// <summary>From its parts, the text's hash already taken (as a snapshot stores them).</summary>
    public static CounterId Of(int scopeId, bool isText, UInt128 subject)
    {
        var tag = (scopeId << 1) | (isText ? 1 : 0);
        // The table takes its stripe from the hash's top bits and its slot from the low bits.
        return new CounterId(subject, tag, HashCode.Combine(tag, subject));
    }
}
