using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sluice.Core.Limits.Embedded;

/// <summary>
/// One counter in a <see cref="CounterTable"/>, 128 bytes (two cache lines) holding no object reference: which
/// counter it is (a <see cref="CounterId"/>), and its admission times, oldest first, in a ring of 32-bit
/// millisecond offsets from a base time (4 bytes per request). Up to <see cref="InlineCapacity"/> times live in the
/// entry itself, so that a decision about a counter with few requests reads these two lines and nothing else; beyond
/// that the ring moves to an array of its own among the stripe's <see cref="OverflowRings"/>, grown on demand up to
/// the limit (a fully used 150-request counter holds 600 bytes of times there).
/// Not thread-safe: callers hold the lock of the entry's stripe.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal struct CounterEntry
{
    public const int Size = 128;
    public const int InlineCapacity = 20;

    /// <summary>The counter's <see cref="CounterId.Tag"/>; 0 marks an empty slot of the table.</summary>
    public int Tag;

    /// <summary>The counter's <see cref="CounterId.Hash"/>, kept to place it again when the table grows.</summary>
    public int Hash;

    // The subject as two halves: a UInt128 field would be aligned to 16 bytes and leave a hole.
    private readonly ulong _subjectLow;

    private readonly ulong _subjectHigh;

    private long _base;

    /// <summary>How long the times are kept, by the policy that last used the counter; the sweeper trims with it.</summary>
    public int RetentionMs;

    private int _head;

    private int _count;

    /// <summary>The ring's number among the stripe's <see cref="OverflowRings"/>; 0 while the times are inline.</summary>
    private int _overflow;

    private InlineTimes _inline;

    public CounterEntry(in CounterId id, long retentionMs)
    {
        Tag = id.Tag;
        Hash = id.Hash;
        _subjectLow = (ulong)id.Subject;
        _subjectHigh = (ulong)(id.Subject >> 64);
        RetentionMs = checked((int)retentionMs);
    }

    public readonly bool IsEmpty => Tag == 0;

    public readonly int Count => _count;

    public readonly CounterId Id => new(((UInt128)_subjectHigh << 64) | _subjectLow, Tag, Hash);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Is(in CounterId id) =>
        Tag == id.Tag && _subjectLow == (ulong)id.Subject && _subjectHigh == (ulong)(id.Subject >> 64);

    /// <summary>The i-th oldest admission time, Unix milliseconds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long At(OverflowRings rings, int index)
    {
        var ring = ReadRing(rings);
        var slot = _head + index;
        return _base + ring[slot >= ring.Length ? slot - ring.Length : slot];
    }

    /// <summary>Forgets every time at or before <paramref name="cutoffMs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void TrimThrough(OverflowRings rings, long cutoffMs)
    {
        if (_count == 0)
        {
            return;
        }
        var ring = Ring(rings);
        var cutoff = cutoffMs - _base;
        while (_count > 0 && ring[_head] <= cutoff)
        {
            _head = _head + 1 == ring.Length ? 0 : _head + 1;
            _count--;
        }
        if (_count == 0)
        {
            _head = 0;
        }
    }

    /// <summary>Milliseconds until the oldest time stops counting under <paramref name="policy"/> (0 when empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long ResetAfter(OverflowRings rings, long now, LimitPolicy policy) =>
        _count == 0 ? 0 : Math.Max(0, policy.ExpiryMs(At(rings, 0), now) - now);

    /// <summary>Milliseconds until one more request fits under the policy's limit (0 when it fits now).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly long RetryAfter(OverflowRings rings, long now, LimitPolicy policy)
    {
        var limit = policy.Limit;
        if (_count < limit)
        {
            return 0;
        }
        if (limit == 0)
        {
            return Math.Max(1, policy.ExpiryMs(now, now) - now);
        }
        return Math.Max(1, policy.ExpiryMs(At(rings, _count - limit), now) - now);
    }

    /// <summary>Records an admission at <paramref name="now"/>, which is never earlier than the newest time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(OverflowRings rings, long now, int limit)
    {
        if (_count == 0)
        {
            _base = now;
        }
        else if (now - _base > int.MaxValue)
        {
            Rebase(rings);
        }
        var ring = Ring(rings);
        if (_count == ring.Length)
        {
            ring = Grow(rings, limit);
        }
        var tail = _head + _count;
        if (tail >= ring.Length)
        {
            tail -= ring.Length;
        }
        ring[tail] = (int)(now - _base);
        _count++;
    }

    /// <summary>Removes one occurrence of <paramref name="time"/> (a request given back); false when absent.</summary>
    public bool Remove(OverflowRings rings, long time)
    {
        var ring = Ring(rings);
        for (var i = _count - 1; i >= 0; i--)
        {
            if (At(rings, i) != time)
            {
                continue;
            }
            for (var j = i; j < _count - 1; j++)
            {
                ring[(_head + j) % ring.Length] = ring[(_head + j + 1) % ring.Length];
            }
            _count--;
            return true;
        }
        return false;
    }

    /// <summary>Copies the times, oldest first, into <paramref name="destination"/>.</summary>
    public readonly void CopyTo(OverflowRings rings, Span<long> destination)
    {
        for (var i = 0; i < _count; i++)
        {
            destination[i] = At(rings, i);
        }
    }

    /// <summary>Gives the entry's overflow ring back; called when the entry leaves the table.</summary>
    public void Release(OverflowRings rings)
    {
        if (_overflow != 0)
        {
            rings.Free(_overflow);
            _overflow = 0;
        }
    }

    /// <summary>The ring the times are in: the entry's own slots, or its array once they did not fit.</summary>
    [UnscopedRef]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<int> Ring(OverflowRings rings) => _overflow == 0 ? _inline : rings[_overflow];

    [UnscopedRef]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ReadOnlySpan<int> ReadRing(OverflowRings rings) => _overflow == 0 ? _inline : rings[_overflow];

    private void Rebase(OverflowRings rings)
    {
        // Every live time is within the retention (at most 24 days) of now, so offsets from the oldest fit in 32 bits.
        var ring = Ring(rings);
        var shift = At(rings, 0) - _base;
        for (var i = 0; i < ring.Length; i++)
        {
            ring[i] = (int)(ring[i] - shift);
        }
        _base += shift;
    }

    private Span<int> Grow(OverflowRings rings, int limit)
    {
        var ring = Ring(rings);
        var size = Math.Max(_count + 1, Math.Min(ring.Length * 2, limit));
        var grown = new int[Math.Max(size, InlineCapacity + 1)];
        for (var i = 0; i < _count; i++)
        {
            var slot = _head + i;
            grown[i] = ring[slot >= ring.Length ? slot - ring.Length : slot];
        }
        if (_overflow == 0)
        {
            _overflow = rings.Add(grown);
        }
        else
        {
            rings[_overflow] = grown;
        }
        _head = 0;
        return grown;
    }

    [InlineArray(InlineCapacity)]
    private struct InlineTimes
    {
        private int _element;
    }
}

/// <summary>
/// The rings of a stripe's counters whose times did not fit in their entry, numbered from 1 so that an entry can
/// name its ring with an integer. Numbers of removed rings are reused. Guarded by the stripe's lock.
/// </summary>
internal sealed class OverflowRings
{
    private readonly Stack<int> _free = new();
    private int[]?[] _rings = new int[]?[4];
    private int _used;

    public int[] this[int number]
    {
        get => _rings[number]!;
        set => _rings[number] = value;
    }

    public int Add(int[] ring)
    {
        if (!_free.TryPop(out var number))
        {
            number = ++_used;
            if (number == _rings.Length)
            {
                Array.Resize(ref _rings, _rings.Length * 2);
            }
        }
        _rings[number] = ring;
        return number;
    }

    public void Free(int number)
    {
        _rings[number] = null;
        _free.Push(number);
    }
}
