using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace Sluice.FakeUpstream;

/// <summary>One console line per request when not <see cref="FakeUpstreamOptions.Quiet"/>, written by a background
/// task so that requests never wait on the console; lines are dropped when it falls behind.</summary>
internal sealed class RequestLog : IAsyncDisposable
{
    private readonly Channel<string> _lines = Channel.CreateBounded<string>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private Task? _pump;

    public void Write(Exchange exchange, bool canceled)
    {
        var context = exchange.Context;
        var elapsed = Stopwatch.GetElapsedTime(exchange.Started).TotalMilliseconds;
        var outcome = canceled ? "canceled"
            : exchange.SelfAborted ? "cut"
            : context.RequestAborted.IsCancellationRequested ? "aborted"
            : context.Response.StatusCode.ToString(CultureInfo.InvariantCulture);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{TimeProvider.System.GetLocalNow():HH:mm:ss.fff} {context.Request.Method} {context.Request.Path.Value}{context.Request.QueryString.Value} {outcome} {elapsed:0.0}ms");
        if (_pump is null)
        {
            lock (_lines)
            {
                _pump ??= Task.Run(PumpAsync);
            }
        }
        _lines.Writer.TryWrite(line);
    }

    private async Task PumpAsync()
    {
        var reader = _lines.Reader;
        var batch = new StringBuilder();
        while (await reader.WaitToReadAsync())
        {
            while (batch.Length < 64 * 1024 && reader.TryRead(out var line))
            {
                batch.Append(line).Append('\n');
            }
            await Console.Out.WriteAsync(batch.ToString());
            batch.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        if (_pump is { } pump)
        {
            await pump;
        }
    }
}
