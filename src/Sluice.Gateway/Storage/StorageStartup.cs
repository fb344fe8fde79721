using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Storage;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Postgres;
using Sluice.Storage.Sqlite;

namespace Sluice.Gateway.Storage;

/// <summary>
/// Creates the data directory (the admin token and the limiter snapshot live there with either database) and brings
/// the database schema up to date before anything else starts. PostgreSQL may still be starting itself: start-up
/// waits for it up to <see cref="PostgresOptions.StartTimeout"/>, then gives up with the reason.
/// </summary>
internal sealed partial class StorageStartup : IHostedService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly DataDirectory _dataDirectory;
    private readonly PostgresOptions _postgres;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public StorageStartup(DataDirectory dataDirectory, IOptions<PostgresOptions> postgres, IServiceProvider services, TimeProvider time, ILogger<StorageStartup> logger)
    {
        _dataDirectory = dataDirectory;
        _postgres = postgres.Value;
        _services = services;
        _time = time;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _dataDirectory.EnsureExists();
        // The SQLite file's schema is brought up to date with PostgreSQL too: the stores that have no PostgreSQL
        // backend yet (the usage ledger and balances) still live there.
        await _services.GetRequiredService<SqliteDatabase>().MigrateAsync(cancellationToken);
        if (!_postgres.Enabled)
        {
            return;
        }
        var database = _services.GetRequiredService<PostgresDatabase>();
        var started = _time.GetTimestamp();
        var waiting = false;
        while (true)
        {
            try
            {
                var result = await database.MigrateAsync(cancellationToken);
                if (result.Applied.Count > 0)
                {
                    LogMigrated(_logger, database.Description, result.From, result.To, result.Applied.Count);
                }
                else
                {
                    LogUpToDate(_logger, database.Description, result.To);
                }
                return;
            }
            catch (StoreUnavailableException exception) when (_time.GetElapsedTime(started) + RetryInterval <= _postgres.StartTimeout)
            {
                if (!waiting)
                {
                    LogWaiting(_logger, database.Description, _postgres.StartTimeout.TotalSeconds, exception.InnerException?.Message ?? exception.Message);
                    waiting = true;
                }
                await Task.Delay(RetryInterval, _time, cancellationToken);
            }
            catch (Exception exception) when (exception is StoreUnavailableException or PostgresSchemaTooNewException or Npgsql.NpgsqlException)
            {
                // Unreachable for too long, a newer schema, or an answer such as a wrong password or a missing database.
                LogFailed(_logger, database.Description, exception.Message);
                throw;
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 82, EventName = "PostgresMigrated", Level = LogLevel.Information,
        Message = "PostgreSQL {Database}: schema migrated from version {From} to {To} ({Steps} steps)")]
    private static partial void LogMigrated(ILogger logger, string database, int from, int to, int steps);

    [LoggerMessage(EventId = 83, EventName = "PostgresUpToDate", Level = LogLevel.Information, Message = "PostgreSQL {Database}: schema is up to date (version {Version})")]
    private static partial void LogUpToDate(ILogger logger, string database, int version);

    [LoggerMessage(EventId = 84, EventName = "PostgresWaiting", Level = LogLevel.Warning,
        Message = "PostgreSQL {Database} cannot be reached yet ({Reason}); waiting up to {Seconds} s (Sluice:Postgres:StartTimeout)")]
    private static partial void LogWaiting(ILogger logger, string database, double seconds, string reason);

    [LoggerMessage(EventId = 85, EventName = "PostgresStartFailed", Level = LogLevel.Critical, Message = "Sluice cannot start: PostgreSQL {Database}: {Reason}")]
    private static partial void LogFailed(ILogger logger, string database, string reason);
}
