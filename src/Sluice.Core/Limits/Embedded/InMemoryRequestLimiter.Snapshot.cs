using System.Text;

namespace Sluice.Core.Limits.Embedded;

public sealed partial class InMemoryRequestLimiter
{
    private const int SnapshotMagic = 0x4C43_4C53; // "SLCL"
    private const int SnapshotVersion = 1;

    /// <summary>
    /// Writes every counter with its times, so that a restart does not hand everyone a fresh quota.
    /// Each log is copied under its own lock; decisions go on meanwhile.
    /// </summary>
    public int WriteSnapshot(Stream destination)
    {
        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        writer.Write(SnapshotMagic);
        writer.Write(SnapshotVersion);
        var written = 0;
        long[] times = new long[64];
        foreach (var (counter, log) in _logs)
        {
            int count;
            long window;
            lock (log)
            {
                if (log.Dead || log.Count == 0)
                {
                    continue;
                }
                count = log.Count;
                window = log.WindowMs;
                if (times.Length < count)
                {
                    times = new long[Math.Max(count, times.Length * 2)];
                }
                log.CopyTo(times);
            }
            writer.Write((byte)1);
            writer.Write(counter.Scope);
            writer.Write(counter.Text is not null);
            if (counter.Text is not null)
            {
                writer.Write(counter.Text);
            }
            else
            {
                writer.Write((ulong)(counter.Number >> 64));
                writer.Write((ulong)counter.Number);
            }
            writer.Write(window);
            writer.Write(count);
            for (var i = 0; i < count; i++)
            {
                writer.Write(times[i]);
            }
            written++;
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
        if (version != SnapshotVersion)
        {
            throw new InvalidDataException($"Limiter snapshot version {version} is not supported (expected {SnapshotVersion}).");
        }
        var read = 0;
        var lastTime = 0L;
        while (reader.ReadByte() == 1)
        {
            var scope = reader.ReadString();
            var counter = reader.ReadBoolean()
                ? new CounterKey(scope, reader.ReadString())
                : new CounterKey(scope, ((UInt128)reader.ReadUInt64() << 64) | reader.ReadUInt64());
            var window = reader.ReadInt64();
            var count = reader.ReadInt32();
            // Exactly as many slots as times: a restart costs no more memory than the counters held before it.
            var log = new SlidingLog(window, count);
            for (var i = 0; i < count; i++)
            {
                var time = reader.ReadInt64();
                log.Append(time, count);
                lastTime = Math.Max(lastTime, time);
            }
            _logs[counter] = log;
            read++;
        }
        // Times handed out before the restart stay in the past even if the wall clock moved back.
        InterlockedMax(ref _lastNow, lastTime);
        return read;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
