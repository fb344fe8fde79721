using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sluice.Core.Text;

namespace Sluice.Gateway.Logging;

/// <summary>
/// The access log: one line per request, formatted on the request's thread into a thread-local buffer, appended to
/// a shared buffer under a short lock, and written out in batches (every 200 ms, at 64 KiB, and at a stop) — one
/// write for many lines, instead of a console write and flush per line. Values a client controls (path, model) are
/// quoted and escaped, so a request cannot forge log lines.
/// </summary>
public sealed class AccessLog : IHostedService, IDisposable
{
    private const int FlushAt = 64 * 1024;
    private const int MaxWrite = 4096;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    private readonly AccessLogOptions _options;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private ArrayBufferWriter<byte> _active = new(FlushAt * 2);
    private ArrayBufferWriter<byte> _spare = new(FlushAt * 2);
    private Stream? _output;
    private Task? _loop;
    private readonly SemaphoreSlim _full = new(0);
    private int _signalled;

    public AccessLog(IOptions<AccessLogOptions> options)
    {
        _options = options.Value;
    }

    public bool Enabled => _options.Enabled;

    public void Write(in AccessLogEntry entry)
    {
        if (!_options.Enabled)
        {
            return;
        }
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(512);
        scratch.ResetWrittenCount();
        if (_options.Format == AccessLogFormat.Json)
        {
            FormatJson(scratch, entry);
        }
        else
        {
            FormatText(scratch, entry);
        }
        bool full;
        lock (_lock)
        {
            _active.Write(scratch.WrittenSpan);
            full = _active.WrittenCount >= FlushAt;
        }
        // At most one signal per wake-up of the writer, not one per line once the buffer is full. (The semaphore has
        // no maximum: a signal that races the writer's timeout only wakes it once more, where a maximum of one threw
        // SemaphoreFullException now and then under load.)
        if (full && Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            _full.Release();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return Task.CompletedTask;
        }
        if (string.IsNullOrWhiteSpace(_options.Path))
        {
            _output = Console.OpenStandardOutput();
        }
        else
        {
            var path = System.IO.Path.GetFullPath(_options.Path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            _output = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 64 * 1024);
        }
        _loop = Task.Run(() => WriteLoopAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        WriteOut();
        _output?.Flush();
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _full.Dispose();
        if (_output is FileStream file)
        {
            file.Dispose();
        }
    }

    private async Task WriteLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _full.WaitAsync(_options.FlushInterval, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // Re-armed before the buffers are swapped: a buffer that fills during this write signals again.
            Volatile.Write(ref _signalled, 0);
            WriteOut();
        }
    }

    /// <summary>Swaps the buffers and writes what was waiting, in whole lines of at most 4 KiB per write (so that
    /// a write to a pipe is atomic and never interleaves with other output mid-line).</summary>
    private void WriteOut()
    {
        ArrayBufferWriter<byte> pending;
        lock (_lock)
        {
            if (_active.WrittenCount == 0)
            {
                return;
            }
            pending = _active;
            _active = _spare;
            _spare = pending;
        }
        var data = pending.WrittenSpan;
        try
        {
            while (data.Length > 0)
            {
                var take = data.Length <= MaxWrite ? data.Length : data[..MaxWrite].LastIndexOf((byte)'\n') + 1;
                if (take <= 0)
                {
                    take = Math.Min(data.Length, MaxWrite);
                }
                _output!.Write(data[..take]);
                data = data[take..];
            }
            _output!.Flush();
        }
        catch (IOException)
        {
            // Standard output closed (the process is being taken down): nothing to write to.
        }
        pending.ResetWrittenCount();
    }

    internal static void FormatText(ArrayBufferWriter<byte> buffer, in AccessLogEntry entry)
    {
        // ISO 8601 round-trip form, e.g. 2026-11-29T09:14:16.1234567Z (the runtime formats it without parsing a pattern).
        AppendFormatted(buffer, entry.Time.UtcDateTime, "O");
        Append(buffer, " method=");
        Append(buffer, entry.Method);
        Append(buffer, " path=");
        AppendValue(buffer, entry.Path);
        Append(buffer, " status=");
        AppendFormatted(buffer, entry.Status, default);
        Append(buffer, " latency_ms=");
        AppendMilliseconds(buffer, entry.LatencyMs);
        Append(buffer, " key=");
        AppendValue(buffer, entry.KeyId);
        Append(buffer, " ip=");
        AppendValue(buffer, entry.ClientIp);
        Append(buffer, " model=");
        AppendValue(buffer, entry.Model);
        Append(buffer, " id=");
        AppendValue(buffer, entry.RequestId);
        Append(buffer, "\n");
    }

    private static void AppendFormatted<T>(ArrayBufferWriter<byte> buffer, T value, ReadOnlySpan<char> format)
        where T : IUtf8SpanFormattable
    {
        var span = buffer.GetSpan(40);
        if (!value.TryFormat(span, out var written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A logged value did not fit into 40 bytes.");
        }
        buffer.Advance(written);
    }

    /// <summary>Milliseconds to two decimals without trailing zeros (as the format <c>0.##</c> writes them), from
    /// integers: formatting the double itself was a fifth of the line's cost.</summary>
    internal static void AppendMilliseconds(ArrayBufferWriter<byte> buffer, double milliseconds)
    {
        var hundredths = (long)Math.Round(Math.Max(milliseconds, 0) * 100, MidpointRounding.AwayFromZero);
        AppendFormatted(buffer, hundredths / 100, default);
        var fraction = (int)(hundredths % 100);
        if (fraction == 0)
        {
            return;
        }
        var span = buffer.GetSpan(3);
        span[0] = (byte)'.';
        span[1] = (byte)('0' + fraction / 10);
        if (fraction % 10 == 0)
        {
            buffer.Advance(2);
            return;
        }
        span[2] = (byte)('0' + fraction % 10);
        buffer.Advance(3);
    }

    private static void FormatJson(ArrayBufferWriter<byte> buffer, in AccessLogEntry entry)
    {
        var writer = t_json ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("time", entry.Time.UtcDateTime);
        writer.WriteString("method", entry.Method);
        writer.WriteString("path", entry.Path);
        writer.WriteNumber("status", entry.Status);
        writer.WriteNumber("latency_ms", Math.Round(entry.LatencyMs, 2));
        WriteNullable(writer, "key", entry.KeyId);
        WriteNullable(writer, "ip", entry.ClientIp);
        WriteNullable(writer, "model", entry.Model);
        WriteNullable(writer, "id", entry.RequestId);
        writer.WriteEndObject();
        writer.Flush();
        buffer.Write("\n"u8);
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void Append(ArrayBufferWriter<byte> buffer, string text)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>A value as is when it is plain, else quoted with quotes, backslashes, control characters, line
    /// separators and format characters (such as right-to-left overrides) escaped; "-" when absent.</summary>
    private static void AppendValue(ArrayBufferWriter<byte> buffer, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            Append(buffer, "-");
            return;
        }
        var plain = true;
        foreach (var c in value)
        {
            if (c == ' ' || c == '"' || c == '\\' || c == '=' || Printable.IsUnsafe(c))
            {
                plain = false;
                break;
            }
        }
        if (plain)
        {
            Append(buffer, value);
            return;
        }
        var quoted = new StringBuilder(value.Length + 8).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => quoted.Append("\\\""),
                '\\' => quoted.Append("\\\\"),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                _ when Printable.IsUnsafe(c) => quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => quoted.Append(c),
            };
        }
        Append(buffer, quoted.Append('"').ToString());
    }
}
