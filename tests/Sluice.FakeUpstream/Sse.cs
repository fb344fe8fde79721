using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>Writes server-sent events (<c>data: {json}\n\n</c>) one at a time, each flushed at once, with
/// <see cref="FakeUpstreamOptions.ChunkDelay"/> between two events, and carries out an injected cut-after failure.</summary>
internal sealed class Sse : IDisposable
{
    private readonly Exchange _exchange;
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _writer;
    private int _sent;

    private Sse(Exchange exchange)
    {
        _exchange = exchange;
        _pipe = exchange.Context.Response.BodyWriter;
        _writer = new Utf8JsonWriter(_pipe, Json.WriterOptions);
    }

    /// <summary>Sets the status and headers of an event stream; nothing is sent until the first event.</summary>
    public static Sse Start(Exchange exchange)
    {
        var response = exchange.Context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        OpenAiHeaders.Apply(exchange);
        return new Sse(exchange);
    }

    /// <summary>Waits the chunk delay; false when the stream must stop (cut, or the client went away).</summary>
    public async ValueTask<bool> NextAsync()
    {
        if (_sent == _exchange.CutAfterChunks)
        {
            await _pipe.FlushAsync(_exchange.Aborted);
            _exchange.Abort();
            return false;
        }
        var delay = _exchange.Options.ChunkDelay;
        if (_sent > 0 && delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _exchange.Aborted);
        }
        if (_exchange.Server.BeforeChunk is { } gate)
        {
            try
            {
                await gate(_sent, _exchange.Aborted);
            }
            catch (OperationCanceledException) when (_exchange.Aborted.IsCancellationRequested)
            {
                return false;
            }
        }
        return !_exchange.Aborted.IsCancellationRequested;
    }

    /// <summary>Starts an event; write one JSON value, then call <see cref="SendAsync"/>.</summary>
    public Utf8JsonWriter Begin()
    {
        _pipe.Write("data: "u8);
        _writer.Reset(_pipe);
        return _writer;
    }

    /// <summary>Ends the event and flushes it; false when the client went away.</summary>
    public async ValueTask<bool> SendAsync()
    {
        _writer.Flush();
        _pipe.Write("\n\n"u8);
        _sent++;
        var result = await _pipe.FlushAsync(_exchange.Aborted);
        return !result.IsCompleted && !result.IsCanceled && !_exchange.Aborted.IsCancellationRequested;
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>The closing <c>data: [DONE]</c>, left for the server to flush when the request ends; with a cut-after
    /// failure the connection is aborted instead (a cut stream never ends with [DONE]).</summary>
    public async Task DoneAsync()
    {
        if (!await NextAsync())
        {
            return;
        }
        if (_exchange.CutAfterChunks is not null)
        {
            await _pipe.FlushAsync(_exchange.Aborted);
            _exchange.Abort();
            return;
        }
        _pipe.Write("data: [DONE]\n\n"u8);
    }
}
