using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Sluice.Core.Limits.Embedded;

/// <summary>
/// The embedded limiter's counters: a hash table split into <see cref="StripeCount"/> stripes, each an
/// open-addressing array of <see cref="CounterEntry"/> values (linear probing, kept at most half full) under a lock
/// of its own. A counter's entry holds its identity, its bookkeeping and its first times in two cache lines, so
/// finding a counter and deciding about it reads those two lines: with millions of counters, one trip to memory
/// rather than the five a dictionary of objects takes (bucket, node, log object, ring, key text).
/// <para>
/// The arrays live outside the managed heap (<see cref="EntryBlock"/>), aligned so that an entry spans exactly two
/// cache lines, and on Linux large ones ask for transparent huge pages, so that a random look-up among millions of
/// counters does not also miss the TLB. Entries move only when their stripe grows or the sweep removes one, both
/// under the stripe's lock.
/// </para>
/// </summary>
internal sealed partial class CounterTable
{
    public const int StripeCount = 64;
    private const int StripeShift = 26; // the hash code's top 6 bits pick the stripe, its low bits the slot
    private const int InitialCapacity = 16;

    private readonly Stripe[] _stripes = new Stripe[StripeCount];

    public CounterTable()
    {
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Stripe();
        }
    }

    /// <summary>How many counters the table holds.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var stripe in _stripes)
            {
                lock (stripe.Gate)
                {
                    count += stripe.Count;
                }
            }
            return count;
        }
    }

    /// <summary>Bytes of entry arrays held outside the managed heap (for memory reporting).</summary>
    public long NativeBytes
    {
        get
        {
            var bytes = 0L;
            foreach (var stripe in _stripes)
            {
                lock (stripe.Gate)
                {
                    bytes += (long)stripe.Block.Bytes;
                }
            }
            return bytes;
        }
    }

    public Stripe this[int stripe] => _stripes[stripe];

    public static int StripeOf(in CounterId id) => (int)((uint)id.Hash >> StripeShift);

    /// <summary>
    /// Asks the processor, before any lock is taken, for the two cache lines where each counter's look-up starts,
    /// so that the memory loads of all of them are under way together rather than one after the other. Only a
    /// hint (a prefetch never faults, even on a block a concurrent resize has just freed); x86 only.
    /// </summary>
    public unsafe void Touch(ReadOnlySpan<LimitCheck> checks, ReadOnlySpan<int> stripes)
    {
        if (!Sse.IsSupported)
        {
            return;
        }
        for (var i = 0; i < checks.Length; i++)
        {
            var block = _stripes[stripes[i]].Block;
            var entry = (byte*)(block.Pointer + (checks[i].Counter.Id.Hash & block.Mask));
            Sse.Prefetch0(entry);
            Sse.Prefetch0(entry + 64);
        }
    }

    /// <summary>One part of the table and its lock; several are always locked in increasing index order.</summary>
    [SuppressMessage("Reliability", "CA1001", Justification = "The block is freed by its own finalizer once the table is unreachable; freeing it earlier could pull it from under a decision still running.")]
    internal sealed class Stripe
    {
        public readonly Lock Gate = new();

        public readonly OverflowRings Rings = new();

        private EntryBlock _block = new(InitialCapacity);

        public int Count { get; private set; }

        public EntryBlock Block => _block;

        public int Capacity => _block.Capacity;

        /// <summary>The entry in <paramref name="slot"/>. The caller holds <see cref="Gate"/>.</summary>
        public ref CounterEntry this[int slot]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => ref _block[slot];
        }

        /// <summary>The slot holding <paramref name="id"/>, or -1. The caller holds <see cref="Gate"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Find(in CounterId id)
        {
            var block = _block;
            var slot = id.Hash & block.Mask;
            while (true)
            {
                ref var entry = ref block[slot];
                if (entry.IsEmpty)
                {
                    return -1;
                }
                if (entry.Is(id))
                {
                    return slot;
                }
                slot = (slot + 1) & block.Mask;
            }
        }

        /// <summary>
        /// The slot holding <paramref name="id"/>, adding an empty counter when there is none. When adding made the
        /// stripe grow, <paramref name="moved"/> is set: every slot found before in this stripe is stale.
        /// The caller holds <see cref="Gate"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int FindOrAdd(in CounterId id, long retentionMs, out bool moved)
        {
            moved = false;
            var slot = Find(id);
            if (slot >= 0)
            {
                return slot;
            }
            var entry = new CounterEntry(id, retentionMs);
            moved = MakeRoom();
            Count++;
            return Place(_block, entry);
        }

        /// <summary>Adds a counter known to be absent (a snapshot being loaded). The caller holds <see cref="Gate"/>.</summary>
        public ref CounterEntry Add(in CounterId id, long retentionMs)
        {
            var entry = new CounterEntry(id, retentionMs);
            MakeRoom();
            Count++;
            return ref _block[Place(_block, entry)];
        }

        /// <summary>
        /// Trims every counter with its own retention and removes those left empty; returns how many. The caller
        /// holds <see cref="Gate"/>.
        /// </summary>
        public int Sweep(long now)
        {
            var removed = 0;
            for (var slot = 0; slot < _block.Capacity; slot++)
            {
                ref var entry = ref _block[slot];
                while (!entry.IsEmpty)
                {
                    entry.TrimThrough(Rings, now - entry.RetentionMs);
                    if (entry.Count > 0)
                    {
                        break;
                    }
                    // The next entry of the run may move into this slot: look at the slot again.
                    RemoveAt(slot);
                    removed++;
                }
            }
            return removed;
        }

        private static int Place(EntryBlock block, in CounterEntry entry)
        {
            var slot = entry.Hash & block.Mask;
            while (!block[slot].IsEmpty)
            {
                slot = (slot + 1) & block.Mask;
            }
            block[slot] = entry;
            return slot;
        }

        /// <summary>Grows the stripe if one more entry would make it over half full; true when it grew.</summary>
        private bool MakeRoom()
        {
            if ((Count + 1) * 2 <= _block.Capacity)
            {
                return false;
            }
            var grown = new EntryBlock(_block.Capacity * 2);
            for (var slot = 0; slot < _block.Capacity; slot++)
            {
                if (!_block[slot].IsEmpty)
                {
                    Place(grown, _block[slot]);
                }
            }
            var old = _block;
            _block = grown;
            old.Dispose();
            return true;
        }

        /// <summary>Empties a slot and moves later entries of its run back, so that no look-up stops short (no tombstones).</summary>
        private void RemoveAt(int slot)
        {
            var block = _block;
            block[slot].Release(Rings);
            var next = slot;
            while (true)
            {
                next = (next + 1) & block.Mask;
                if (block[next].IsEmpty)
                {
                    break;
                }
                var home = block[next].Hash & block.Mask;
                // The entry at `next` may move to `slot` unless its home lies cyclically in (slot, next].
                var stays = slot <= next ? slot < home && home <= next : slot < home || home <= next;
                if (stays)
                {
                    continue;
                }
                block[slot] = block[next];
                slot = next;
            }
            block[slot] = default;
            Count--;
        }
    }

    /// <summary>
    /// A zeroed array of entries outside the managed heap, aligned to a cache line (to 2 MiB, with transparent huge
    /// pages asked for on Linux, from 2 MiB up). Freed when disposed, or by the finalizer of a table nobody holds.
    /// </summary>
    internal sealed unsafe partial class EntryBlock : SafeHandle
    {
        private const nuint HugePage = 2 << 20;
        private const int MadviseHugePage = 14; // MADV_HUGEPAGE

        public EntryBlock(int capacity)
            : base(IntPtr.Zero, ownsHandle: true)
        {
            Capacity = capacity;
            Mask = capacity - 1;
            Bytes = (nuint)capacity * CounterEntry.Size;
            var huge = Bytes >= HugePage;
            var memory = NativeMemory.AlignedAlloc(Bytes, huge ? HugePage : 64);
            SetHandle((IntPtr)memory);
            GC.AddMemoryPressure((long)Bytes);
            if (huge && OperatingSystem.IsLinux())
            {
                AdviseHugePages(memory, Bytes);
            }
            NativeMemory.Clear(memory, Bytes);
        }

        public int Capacity { get; }

        public int Mask { get; }

        public nuint Bytes { get; }

        public CounterEntry* Pointer => (CounterEntry*)handle;

        public override bool IsInvalid => handle == IntPtr.Zero;

        public ref CounterEntry this[int slot]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)Capacity, nameof(slot));
                return ref Pointer[slot];
            }
        }

        protected override bool ReleaseHandle()
        {
            NativeMemory.AlignedFree((void*)handle);
            GC.RemoveMemoryPressure((long)Bytes);
            return true;
        }

        /// <summary>
        /// Asks for transparent huge pages, before the memory is first touched. Advice only: where the kernel refuses
        /// it (a non-zero result) or the C library has no <c>madvise</c>, pages are 4 KiB and nothing else changes.
        /// </summary>
        private static void AdviseHugePages(void* memory, nuint bytes)
        {
            try
            {
                _ = Madvise(memory, bytes, MadviseHugePage);
            }
            catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
            {
                // No madvise to call: the table works the same on 4 KiB pages.
            }
        }

        [LibraryImport("libc", EntryPoint = "madvise")]
        private static partial int Madvise(void* address, nuint length, int advice);
    }
}
