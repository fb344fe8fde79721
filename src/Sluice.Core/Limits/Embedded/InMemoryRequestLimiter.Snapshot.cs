using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Sluice.Core.Limits.Embedded;

public sealed partial class InMemoryRequestLimiter
{
    private const int SnapshotMagic = 0x4C43_4C53; // "SLCL"

    // Version 1 stored a key counter's key id; version 2 stores every counter as the table does (CounterId):
    // the scope's name, whether the subject is a text, and the subject's 128 bits (a text's hash). Both are read.
    private const int SnapshotVersion = 2;

    /// <summary>
    /// Writes every counter with its times, so that a restart does not hand everyone a fresh quota.
    /// Each stripe is copied under its own lock, then written; decisions on other stripes go on meanwhile.
    /// </summary>
    /// <remarks>
    /// The times are copied into one pooled buffer per snapshot, sized for the stripe before the copy, and written in
    /// bulk. A counter of a plan with a large limit holds one time per admitted request of its window (hundreds of
    /// thousands on a busy key): growing lists for them under the lock, and writing them one call per time, made new
    /// multi-megabyte arrays on the large-object heap at every snapshot and lengthened the time under the lock.
    /// </remarks>
    public int WriteSnapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        writer.Write(SnapshotMagic);
        writer.Write(SnapshotVersion);
        var written = 0;
        var counters = new List<(CounterId Id, int RetentionMs, int Count)>();
        long[]? times = null;
        try
        {
            for (var i = 0; i < CounterTable.StripeCount; i++)
            {
                counters.Clear();
                var stripe = _table[i];
                lock (stripe.Gate)
                {
                    var total = 0;
                    for (var slot = 0; slot < stripe.Capacity; slot++)
                    {
                        total += stripe[slot].IsEmpty ? 0 : stripe[slot].Count;
                    }
                    if (total > (times?.Length ?? 0))
                    {
                        if (times is not null)
                        {
                            ArrayPool<long>.Shared.Return(times);
                        }
                        times = ArrayPool<long>.Shared.Rent(total);
                    }
                    var used = 0;
                    for (var slot = 0; slot < stripe.Capacity; slot++)
                    {
                        ref var entry = ref stripe[slot];
                        if (entry.IsEmpty || entry.Count == 0)
                        {
                            continue;
                        }
                        entry.CopyTo(stripe.Rings, times.AsSpan(used, entry.Count));
                        used += entry.Count;
                        counters.Add((entry.Id, entry.RetentionMs, entry.Count));
                    }
                }
                var next = 0;
                foreach (var (id, retention, count) in counters)
                {
                    writer.Write((byte)1);
                    writer.Write(CounterScopes.NameOf(id.ScopeId));
                    writer.Write(id.IsText);
                    writer.Write((ulong)(id.Subject >> 64));
                    writer.Write((ulong)id.Subject);
                    writer.Write((long)retention);
                    writer.Write(count);
                    WriteTimes(writer, times.AsSpan(next, count));
                    next += count;
                    written++;
                }
            }
        }
        finally
        {
            if (times is not null)
            {
                ArrayPool<long>.Shared.Return(times);
            }
        }
        writer.Write((byte)0);
        return written;
    }

    /// <summary>The times as <see cref="BinaryWriter.Write(long)"/> writes each (little-endian), in one write.</summary>
    private static void WriteTimes(BinaryWriter writer, ReadOnlySpan<long> times)
    {
        if (BitConverter.IsLittleEndian)
        {
            writer.Write(MemoryMarshal.AsBytes(times));
            return;
        }
        foreach (var time in times)
        {
            writer.Write(time);
        }
    }

    /// <summary>Loads counters written by <see cref="WriteSnapshot"/>; meant for start-up, before any decision.</summary>
    public int ReadSnapshot(Stream source)
    {
        using var reader = new BinaryReader(source, Encoding.UTF8, leaveOpen: true);
        if (reader.ReadInt32() != SnapshotMagic)
        {
            throw new InvalidDataException("Not a Sluice limiter snapshot.");
        }
        var version = reader.ReadInt32();
        if (version is not (1 or SnapshotVersion))
        {
            throw new InvalidDataException($"Limiter snapshot version {version} is not supported (expected {SnapshotVersion}).");
        }
        var read = 0;
        var lastTime = 0L;
        while (reader.ReadByte() == 1)
        {
            var id = version == 1 ? ReadVersion1Counter(reader) : ReadCounter(reader);
            var retention = reader.ReadInt64();
            var count = reader.ReadInt32();
            if (retention is <= 0 or > int.MaxValue || count < 0)
            {
                throw new InvalidDataException($"Limiter snapshot holds a counter with a retention of {retention} ms and {count} times.");
            }
            var stripe = _table[CounterTable.StripeOf(id)];
            lock (stripe.Gate)
            {
                if (stripe.Find(id) >= 0)
                {
                    throw new InvalidDataException("Limiter snapshot holds a counter twice.");
                }
                ref var entry = ref stripe.Add(id, retention);
                for (var i = 0; i < count; i++)
                {
                    // The limit given is the count: a ring that outgrows the entry is exactly as long as the times.
                    var time = reader.ReadInt64();
                    entry.Append(stripe.Rings, time, count);
                    lastTime = Math.Max(lastTime, time);
                }
            }
            read++;
        }
        // Times handed out before the restart stay in the past even if the wall clock moved back.
        RaiseLastNow(lastTime);
        return read;
    }

    private static CounterId ReadCounter(BinaryReader reader)
    {
        var scope = CounterScopes.IdOf(reader.ReadString());
        var text = reader.ReadBoolean();
        return CounterId.Of(scope, text, ((UInt128)reader.ReadUInt64() << 64) | reader.ReadUInt64());
    }

    private static CounterId ReadVersion1Counter(BinaryReader reader)
    {
        var scope = reader.ReadString();
        return reader.ReadBoolean()
            ? new CounterKey(scope, reader.ReadString()).Id
            : new CounterKey(scope, ((UInt128)reader.ReadUInt64() << 64) | reader.ReadUInt64()).Id;
    }

}
