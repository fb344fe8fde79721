using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Usage;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Writes ledger rows off the request path, in batches, exactly once: a finished call hands its row to a bounded
/// buffer; a background loop writes batches and retries a failed batch (the ledger ignores rows it already has)
/// until the database takes it. On a graceful stop everything buffered is written, or, if the database is down
/// then, saved to <c>&lt;data-dir&gt;/ledger-pending.jsonl</c> and written at the next start.
/// </summary>
public sealed partial class LedgerWriter : IHostedService, IComponentHealth, IDisposable
{
    /// <summary>A write to the ledger that takes longer than this is reported on <c>/healthz</c>; a batch takes
    /// milliseconds.</summary>
    private static readonly TimeSpan SlowWrite = TimeSpan.FromSeconds(5);

    private readonly IUsageLedger _ledger;
    private readonly MeteringOptions _options;
    private readonly string _spillPath;
    private readonly ILogger _logger;
    private readonly Channel<UsageRecord> _channel;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Trouble _trouble;
    private readonly TimeProvider _time;
    private long _writeStarted;
    private Task? _loop;
    private long _pending;
    private long _written;

    public LedgerWriter(IUsageLedger ledger, IOptions<MeteringOptions> options, DataDirectory dataDirectory, TimeProvider time, ILogger<LedgerWriter> logger)
    {
        _ledger = ledger;
        _time = time;
        _trouble = new Trouble(time);
        _options = options.Value;
        _spillPath = Path.Combine(dataDirectory.FullPath, "ledger-pending.jsonl");
        _logger = logger;
        _channel = Channel.CreateBounded<UsageRecord>(new BoundedChannelOptions(_options.BufferCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Rows handed in but not yet written.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Rows written since start.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>
    /// Degraded while the database refuses the rows or has kept one write waiting for over <see cref="SlowWrite"/>
    /// (a lock held elsewhere, a stalled server); the rows are kept and retried. Unhealthy once the buffer is full,
    /// because finished calls then wait for room.
    /// </summary>
    HealthCheckResult IComponentHealth.Health
    {
        get
        {
            var status = _channel.Reader.Count >= _options.BufferCapacity ? HealthStatus.Unhealthy : HealthStatus.Degraded;
            var started = Interlocked.Read(ref _writeStarted);
            if (_trouble.Current is null && started != 0 && _time.GetElapsedTime(started) is var waited && waited > SlowWrite)
            {
                return Trouble.Report(status,
                    $"Writing the usage ledger has waited {waited.TotalSeconds:0} s for the database so far; {Pending} rows are kept meanwhile, none is lost",
                    _time.GetUtcNow() - waited);
            }
            return _trouble.Result($"{Pending} rows waiting to be written", status);
        }
    }

    public ValueTask WriteAsync(UsageRecord record)
    {
        Interlocked.Increment(ref _pending);
        return _channel.Writer.TryWrite(record) ? ValueTask.CompletedTask : _channel.Writer.WriteAsync(record);
    }

    /// <summary>Waits until every row handed in so far is written (for tests and the admin views).</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (Pending > 0)
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"{Pending} ledger rows are still waiting to be written.");
            }
            await Task.Delay(10);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(_spillPath))
        {
            var lines = await File.ReadAllLinesAsync(_spillPath, cancellationToken);
            foreach (var line in lines.Where(l => l.Length > 0))
            {
                await WriteAsync(JsonSerializer.Deserialize(line, LedgerJsonContext.Default.UsageRecord)!);
            }
            File.Delete(_spillPath);
            LogReplayed(_logger, lines.Length, _spillPath);
        }
        _loop = Task.Run(() => WriteLoopAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        if (_loop is not null)
        {
            // Let the loop drain the buffer; if the database is down it keeps retrying until the host gives up.
            await ((Task)Task.WhenAny(_loop, Task.Delay(Timeout.Infinite, cancellationToken))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await _stopping.CancelAsync();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task WriteLoopAsync(CancellationToken stopping)
    {
        var reader = _channel.Reader;
        var batch = new List<UsageRecord>(_options.BatchSize);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            // Let a batch gather for a moment unless it is already full.
            if (reader.Count < _options.BatchSize && !reader.Completion.IsCompleted)
            {
                try
                {
                    await Task.Delay(_options.FlushInterval, stopping);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: write what there is.
                }
            }
            while (batch.Count < _options.BatchSize && reader.TryRead(out var record))
            {
                batch.Add(record);
            }
            if (!await WriteWithRetryAsync(batch, stopping))
            {
                // The database stayed down until the very end: keep the rows for the next start.
                while (reader.TryRead(out var record))
                {
                    batch.Add(record);
                }
                Spill(batch);
                return;
            }
            Interlocked.Add(ref _pending, -batch.Count);
            Interlocked.Add(ref _written, batch.Count);
            batch.Clear();
        }
    }

    /// <summary>False only when stopping while the database still refuses the batch.</summary>
    private async Task<bool> WriteWithRetryAsync(List<UsageRecord> batch, CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                Interlocked.Exchange(ref _writeStarted, _time.GetTimestamp());
                try
                {
                    await _ledger.AppendAsync(batch, CancellationToken.None);
                }
                finally
                {
                    Interlocked.Exchange(ref _writeStarted, 0);
                }
                if (_trouble.Clear())
                {
                    LogRecovered(_logger, batch.Count);
                }
                return true;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                if (_trouble.Fail($"Writing the usage ledger fails ({exception.Message}); {Pending} rows are kept and retried, none is lost (room for {_options.BufferCapacity})"))
                {
                    LogWriteFailed(_logger, batch.Count, exception);
                }
                if (stopping.IsCancellationRequested)
                {
                    return false;
                }
                try
                {
                    await Task.Delay(delay, stopping);
                }
                catch (OperationCanceledException)
                {
                    // One last try below happens on the next turn; then the rows are spilled.
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private void Spill(List<UsageRecord> records)
    {
        using var file = new StreamWriter(_spillPath, append: true);
        foreach (var record in records)
        {
            file.WriteLine(JsonSerializer.Serialize(record, LedgerJsonContext.Default.UsageRecord));
        }
        LogSpilled(_logger, records.Count, _spillPath);
    }

    [LoggerMessage(EventId = 60, EventName = "LedgerWriteFailed", Level = LogLevel.Error,
        Message = "Writing {Count} ledger rows failed; they stay buffered and are retried")]
    private static partial void LogWriteFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 61, EventName = "LedgerWriteRecovered", Level = LogLevel.Information, Message = "Ledger writes work again ({Count} rows written)")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(EventId = 62, EventName = "LedgerSpilled", Level = LogLevel.Warning,
        Message = "The database was unavailable at shutdown: {Count} ledger rows saved to {Path}, to be written at the next start")]
    private static partial void LogSpilled(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 63, EventName = "LedgerReplayed", Level = LogLevel.Information, Message = "Replayed {Count} ledger rows saved at the last shutdown from {Path}")]
    private static partial void LogReplayed(ILogger logger, int count, string path);
}

[JsonSerializable(typeof(UsageRecord))]
internal sealed partial class LedgerJsonContext : JsonSerializerContext;
