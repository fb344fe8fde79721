using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Stands in for the response body while the upstream's answer is copied to the client, and reads the usage as it
/// passes, without holding anything back: a JSON answer is written through and its last 64 KiB kept to find
/// <c>usage</c>; an event stream is passed on event by event (a partial event waits for its end), each event read
/// for its usage and text. When Sluice asked for the usage itself, the extra usage chunk and the
/// <c>"usage":null</c> fields it caused are removed, so the client sees the stream it asked for.
/// </summary>
internal sealed class UsageTap : Stream
{
    private const int TailSize = 64 * 1024;
    private static ReadOnlySpan<byte> UsageNull => ",\"usage\":null"u8;

    private readonly HttpResponse _response;
    private readonly bool _stripUsage;
    private Mode _mode;
    private byte[]? _tail;
    private int _tailLength;
    private long _written;
    private ArrayBufferWriter<byte>? _pending;

    public UsageTap(Stream inner, HttpResponse response, bool stripUsage)
    {
        Inner = inner;
        _response = response;
        _stripUsage = stripUsage;
    }

    private enum Mode
    {
        Unknown,
        Json,
        EventStream,
        PassThrough,
    }

    public Stream Inner { get; }

    /// <summary>The usage the upstream reported, if any.</summary>
    public TokenUsage? Usage { get; private set; }

    private StringBuilder? _streamedText;

    /// <summary>The generated text seen in a stream (for counting when the upstream reports no usage).</summary>
    public StringBuilder StreamedText => _streamedText ??= new StringBuilder();

    public bool IsEventStream => _mode == Mode.EventStream;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Reads what is left: the usage at the end of a JSON answer, or an unterminated last event.</summary>
    public async Task FinishAsync()
    {
        switch (_mode)
        {
            case Mode.Json when _tail is not null:
                Usage ??= UsageParser.FromJsonTail(_tail.AsSpan(0, _tailLength));
                break;
            case Mode.EventStream when _pending is { WrittenCount: > 0 }:
                var rest = _pending.WrittenMemory.ToArray();
                _pending.Clear();
                await HandleEventAsync(rest, CancellationToken.None);
                break;
        }
    }

    /// <summary>The text of a whole JSON answer (when it fitted in the kept tail).</summary>
    public string AnswerText() => _mode == Mode.Json && _tail is not null && _written <= TailSize ? UsageParser.AnswerText(_tail.AsSpan(0, _tailLength)) : "";

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_mode == Mode.Unknown)
        {
            _mode = Detect(_response);
        }
        _written += buffer.Length;
        switch (_mode)
        {
            case Mode.Json:
                KeepTail(buffer.Span);
                await Inner.WriteAsync(buffer, cancellationToken);
                break;
            case Mode.EventStream:
                await WriteEventsAsync(buffer, cancellationToken);
                break;
            default:
                await Inner.WriteAsync(buffer, cancellationToken);
                break;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);

    public override void Flush() => Inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private static Mode Detect(HttpResponse response)
    {
        var type = response.ContentType;
        // Compressed anyway (Sluice asks for the plain answer, but an upstream may not listen): not readable as it
        // passes; the call is then counted with the tokenizer like any answer without usage.
        if (type is null || IsEncoded(response.Headers.ContentEncoding))
        {
            return Mode.PassThrough;
        }
        if (type.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return Mode.EventStream;
        }
        return type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ? Mode.Json : Mode.PassThrough;
    }

    private static bool IsEncoded(Microsoft.Extensions.Primitives.StringValues encoding) =>
        encoding.Count > 0 && !(encoding.Count == 1 && string.Equals(encoding[0], "identity", StringComparison.OrdinalIgnoreCase));

    private void KeepTail(ReadOnlySpan<byte> data)
    {
        _tail ??= ArrayPool<byte>.Shared.Rent(TailSize);
        if (data.Length >= TailSize)
        {
            data[^TailSize..].CopyTo(_tail);
            _tailLength = TailSize;
            return;
        }
        var overflow = _tailLength + data.Length - TailSize;
        if (overflow > 0)
        {
            _tail.AsSpan(overflow, _tailLength - overflow).CopyTo(_tail);
            _tailLength -= overflow;
        }
        data.CopyTo(_tail.AsSpan(_tailLength));
        _tailLength += data.Length;
    }

    /// <summary>Passes on every complete event (ended by a blank line), keeping a partial one for the next write.</summary>
    private async ValueTask WriteEventsAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> data = buffer;
        if (_pending is { WrittenCount: > 0 })
        {
            _pending.Write(buffer.Span);
            data = _pending.WrittenMemory.ToArray();
            _pending.Clear();
        }
        while (true)
        {
            var end = EventEnd(data.Span);
            if (end < 0)
            {
                break;
            }
            await HandleEventAsync(data[..end], cancellationToken);
            data = data[end..];
        }
        if (!data.IsEmpty)
        {
            _pending ??= new ArrayBufferWriter<byte>(1024);
            _pending.Write(data.Span);
        }
    }

    /// <summary>The index just after the blank line that ends the first event, or -1.</summary>
    private static int EventEnd(ReadOnlySpan<byte> data)
    {
        for (var i = 0; i + 1 < data.Length; i++)
        {
            if (data[i] != (byte)'\n')
            {
                continue;
            }
            if (data[i + 1] == (byte)'\n')
            {
                return i + 2;
            }
            if (data[i + 1] == (byte)'\r' && i + 2 < data.Length && data[i + 2] == (byte)'\n')
            {
                return i + 3;
            }
        }
        return -1;
    }

    private async ValueTask HandleEventAsync(ReadOnlyMemory<byte> evt, CancellationToken cancellationToken)
    {
        var keep = true;
        var span = evt.Span;
        var dataAt = span.IndexOf("data:"u8);
        if (dataAt >= 0)
        {
            var payload = span[(dataAt + 5)..].Trim(" \r\n"u8);
            if (payload.Length > 0 && payload[0] == (byte)'{')
            {
                var (usage, emptyChoices) = UsageParser.ReadChunk(payload, StreamedText);
                if (usage is not null)
                {
                    Usage = usage;
                    keep = !(_stripUsage && emptyChoices);
                }
            }
        }
        if (!keep)
        {
            return;
        }
        if (_stripUsage && span.IndexOf(UsageNull) >= 0)
        {
            await Inner.WriteAsync(Without(span, UsageNull), cancellationToken);
            return;
        }
        await Inner.WriteAsync(evt, cancellationToken);
    }

    private static byte[] Without(ReadOnlySpan<byte> data, ReadOnlySpan<byte> remove)
    {
        var result = new ArrayBufferWriter<byte>(data.Length);
        while (true)
        {
            var at = data.IndexOf(remove);
            if (at < 0)
            {
                result.Write(data);
                return result.WrittenSpan.ToArray();
            }
            result.Write(data[..at]);
            data = data[(at + remove.Length)..];
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _tail is not null)
        {
            ArrayPool<byte>.Shared.Return(_tail);
            _tail = null;
        }
        base.Dispose(disposing);
    }
}
