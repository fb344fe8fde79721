using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Limits.Embedded;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Redis;

namespace Sluice.Gateway.Limiting;

/// <summary>
/// Keeps the embedded limiter's counters across restarts: loads the snapshot before the gateway serves, saves it
/// periodically and once more on a graceful stop (after the server has drained its requests), and sweeps
/// counters that have emptied.
/// </summary>
internal sealed partial class EmbeddedLimiterPersistence : IHostedService, IDisposable
{
    private readonly InMemoryRequestLimiter _limiter;
    private readonly DataDirectory _dataDirectory;
    private readonly LimiterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _saveLock = new();
    private Task? _loop;

    private readonly bool _enabled;

    public EmbeddedLimiterPersistence(InMemoryRequestLimiter limiter, DataDirectory dataDirectory, IOptions<LimiterOptions> options, IOptions<RedisLimiterOptions> redis,
        TimeProvider time, ILogger<EmbeddedLimiterPersistence> logger)
    {
        // With Redis the counters live there; the embedded limiter is only the outage fallback and is not saved
        // (several instances may share a data directory).
        _enabled = string.IsNullOrWhiteSpace(redis.Value.Configuration);
        _limiter = limiter;
        _dataDirectory = dataDirectory;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            return Task.CompletedTask;
        }
        var path = _dataDirectory.LimiterSnapshotPath;
        if (File.Exists(path))
        {
            using var file = File.OpenRead(path);
            var counters = _limiter.ReadSnapshot(file);
            LogLoaded(_logger, counters, path);
        }
        _loop = UpkeepLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is null)
        {
            return;
        }
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var counters = Save();
        LogSaved(_logger, counters, _dataDirectory.LimiterSnapshotPath);
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Writes the snapshot to a temporary file and moves it into place, so a crash never leaves half a file.</summary>
    public int Save()
    {
        lock (_saveLock)
        {
            var path = _dataDirectory.LimiterSnapshotPath;
            var temporary = path + ".tmp";
            int counters;
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                counters = _limiter.WriteSnapshot(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
            return counters;
        }
    }

    private async Task UpkeepLoopAsync(CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromTicks(Math.Min(_options.SnapshotInterval.Ticks, _options.SweepInterval.Ticks));
        using var timer = new PeriodicTimer(tick, _time);
        var lastSave = _time.GetTimestamp();
        var lastSweep = lastSave;
        while (await Ticks.NextAsync(timer, cancellationToken))
        {
            try
            {
                if (_time.GetElapsedTime(lastSweep) >= _options.SweepInterval)
                {
                    _limiter.Sweep();
                    lastSweep = _time.GetTimestamp();
                }
                if (_time.GetElapsedTime(lastSave) >= _options.SnapshotInterval)
                {
                    Save();
                    lastSave = _time.GetTimestamp();
                }
            }
            catch (IOException exception)
            {
                LogSaveFailed(_logger, exception);
            }
            catch (UnauthorizedAccessException exception)
            {
                LogSaveFailed(_logger, exception);
            }
        }
    }

    [LoggerMessage(EventId = 30, EventName = "LimiterLoaded", Level = LogLevel.Information, Message = "Loaded {Count} limiter counters from {Path}")]
    private static partial void LogLoaded(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 31, EventName = "LimiterSaved", Level = LogLevel.Information, Message = "Saved {Count} limiter counters to {Path}")]
    private static partial void LogSaved(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 32, EventName = "LimiterSaveFailed", Level = LogLevel.Error, Message = "Saving the limiter snapshot failed; counters stay in memory")]
    private static partial void LogSaveFailed(ILogger logger, Exception exception);
}
