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
    public int WriteSnapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        writer.Write(SnapshotMagic);
        writer.Write(SnapshotVersion);
        var written = 0;
        // Copied under each stripe's lock into two reused buffers (no allocation per counter while the lock is held),
        // then written with the lock released.
        var counters = new List<(CounterId Id, int RetentionMs, int Count)>();
        var times = new List<long>();
        var buffer = new long[CounterEntry.InlineCapacity];
        for (var i = 0; i < CounterTable.StripeCount; i++)
        {
            counters.Clear();
            times.Clear();
            var stripe = _table[i];
            lock (stripe.Gate)
            {
                for (var slot = 0; slot < stripe.Capacity; slot++)
                {
                    ref var entry = ref stripe[slot];
                    if (entry.IsEmpty || entry.Count == 0)
                    {
                        continue;
                    }
                    if (buffer.Length < entry.Count)
                    {
                        buffer = new long[Math.Max(entry.Count, buffer.Length * 2)];
                    }
                    entry.CopyTo(stripe.Rings, buffer);
                    times.AddRange(buffer.AsSpan(0, entry.Count));
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
                for (var k = 0; k < count; k++)
                {
                    writer.Write(times[next++]);
                }
                written++;
            }
        }
        writer.Write((byte)0);
        return written;
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
