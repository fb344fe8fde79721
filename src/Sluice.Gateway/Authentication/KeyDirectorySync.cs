using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sluice.Core.Keys;

using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Authentication;

/// <summary>
/// Loads every key into the <see cref="KeyDirectory"/> before the gateway serves, then picks up changes made
/// elsewhere (another instance, the database by hand) every half second. Changes made through this instance's
/// admin API are applied at once and do not wait for this.
/// </summary>
internal sealed partial class KeyDirectorySync : IHostedService, IComponentHealth, IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly IKeyStore _store;
    private readonly KeyDirectory _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Trouble _trouble;
    private Task? _loop;
    private long _position;

    public KeyDirectorySync(IKeyStore store, KeyDirectory directory, TimeProvider time, ILogger<KeyDirectorySync> logger)
    {
        _store = store;
        _directory = directory;
        _time = time;
        _logger = logger;
        _trouble = new Trouble(time);
    }

    /// <summary>Degraded while reading changes from the key store fails: the keys already known keep working.</summary>
    public HealthCheckResult Health => _trouble.Result(_directory.Count == 1 ? "1 key, in step with the key store" : $"{_directory.Count} keys, in step with the key store");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var keys = await _store.ChangedSinceAsync(0, cancellationToken);
        _directory.Apply(keys);
        Advance(keys);
        LogLoaded(_logger, _directory.Count);
        _loop = RefreshLoopAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private void Advance(IReadOnlyList<ApiKey> keys)
    {
        foreach (var key in keys)
        {
            if (key.Version > _position)
            {
                Volatile.Write(ref _position, key.Version);
            }
        }
    }

    /// <summary>Applies every change since the directory's version; returns how many keys changed.</summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        // Read from this loop's own position, not the directory's version: the admin API applies its own new keys at
        // once, which would move that version past keys other instances created meanwhile and skip them.
        var changed = await _store.ChangedSinceAsync(Volatile.Read(ref _position), cancellationToken);
        _directory.Apply(changed);
        Advance(changed);
        return changed.Count;
    }

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        while (await Ticks.NextAsync(timer, cancellationToken))
        {
            try
            {
                await RefreshAsync(cancellationToken);
                if (_trouble.Clear())
                {
                    LogRecovered(_logger);
                }
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The keys already known keep working; the error is logged once until it clears.
                if (_trouble.Fail($"Reading key changes from the key store fails ({exception.Message}); the {_directory.Count} keys already known keep working, but keys created or revoked through another instance are not seen"))
                {
                    LogRefreshFailed(_logger, exception);
                }
            }
        }
    }

    [LoggerMessage(EventId = 10, EventName = "KeysLoaded", Level = LogLevel.Information, Message = "Loaded {Count} API keys")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 11, EventName = "KeyRefreshFailed", Level = LogLevel.Warning,
        Message = "Reading key changes from the store failed; known keys keep working")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 12, EventName = "KeyRefreshRecovered", Level = LogLevel.Information, Message = "Reading key changes from the store works again")]
    private static partial void LogRecovered(ILogger logger);
}
