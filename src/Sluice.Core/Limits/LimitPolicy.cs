namespace Sluice.Core.Limits;

/// <summary>
/// A named request limit of a plan applied to one kind of subject, e.g. <c>key</c>: 150 per 24 h per key.
/// Made once from configuration and shared by every request.
/// </summary>
public sealed class LimitPolicy
{
    public LimitPolicy(string plan, string name, LimitSubject subject, int limit, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, MaxWindow);
        Plan = plan;
        Name = name;
        Subject = subject;
        Limit = limit;
        Window = window;
        WindowMs = (long)window.TotalMilliseconds;
        Scope = string.Concat(plan, ":", name);
    }

    /// <summary>The longest window a sliding log can hold (its offsets are 32-bit milliseconds).</summary>
    public static TimeSpan MaxWindow { get; } = TimeSpan.FromDays(24);

    public string Plan { get; }

    /// <summary>The name users see in headers and messages, e.g. <c>key</c> or <c>ip</c>.</summary>
    public string Name { get; }

    public LimitSubject Subject { get; }

    public int Limit { get; }

    public TimeSpan Window { get; }

    public long WindowMs { get; }

    /// <summary>The counter namespace, <c>plan:name</c>.</summary>
    public string Scope { get; }

    public CounterKey CounterFor(string keyId) => new(Scope, keyId);

    public CounterKey CounterFor(UInt128 addressGroup) => new(Scope, addressGroup);

    public override string ToString() => $"{Scope} {Limit}/{Window}";
}
