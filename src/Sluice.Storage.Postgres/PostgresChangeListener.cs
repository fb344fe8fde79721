using Microsoft.Extensions.Logging;
using Npgsql;

namespace Sluice.Storage.Postgres;

/// <summary>
/// One connection that LISTENs on every subscriber's channel and has the subscriber catch up when a NOTIFY arrives,
/// so a change made through any instance reaches this one in milliseconds. When the connection breaks (the server
/// stopped or restarted) it reconnects with a short back-off, and on every (re)connect each subscriber catches up
/// on what it missed. An outage is logged once when it starts and once when it ends.
/// </summary>
public sealed partial class PostgresChangeListener
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(2);

    private readonly PostgresDatabase _database;
    private readonly IReadOnlyList<IPostgresChangeSubscriber> _subscribers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile bool _listening;

    public PostgresChangeListener(PostgresDatabase database, IEnumerable<IPostgresChangeSubscriber> subscribers, TimeProvider time, ILogger<PostgresChangeListener> logger)
    {
        _database = database;
        _subscribers = [.. subscribers];
        _time = time;
        _logger = logger;
    }

    /// <summary>True while the LISTEN connection is up.</summary>
    public bool IsListening => _listening;

    /// <summary>Listens until <paramref name="cancellationToken"/> is cancelled; never throws otherwise.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        var failing = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(onListening: () =>
                {
                    if (failing)
                    {
                        LogListeningAgain(_logger, _database.Description);
                        failing = false;
                    }
                    retry = FirstRetry;
                }, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                _listening = false;
                if (!failing)
                {
                    LogListenFailed(_logger, _database.Description, exception.Message);
                    failing = true;
                }
            }
            try
            {
                await Task.Delay(retry, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LongestRetry.Ticks));
        }
        _listening = false;
    }

    private async Task ListenAsync(Action onListening, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenListenerAsync(cancellationToken);
        var notified = new HashSet<string>(StringComparer.Ordinal);
        connection.Notification += (_, e) =>
        {
            lock (notified)
            {
                notified.Add(e.Channel);
            }
        };
        var channels = _subscribers.Select(s => s.Channel).Distinct(StringComparer.Ordinal);
        await using (var listen = new NpgsqlCommand(string.Concat(channels.Select(c => $"LISTEN \"{c}\";")), connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }
        _listening = true;
        onListening();

        // Whatever changed while nobody was listening.
        foreach (var subscriber in _subscribers)
        {
            await subscriber.CatchUpAsync(cancellationToken);
        }
        while (true)
        {
            // Returns after a notification has been processed; throws when the connection breaks.
            await connection.WaitAsync(cancellationToken);
            string[] channelsNotified;
            lock (notified)
            {
                channelsNotified = [.. notified];
                notified.Clear();
            }
            foreach (var subscriber in _subscribers)
            {
                if (Array.IndexOf(channelsNotified, subscriber.Channel) >= 0)
                {
                    await subscriber.CatchUpAsync(cancellationToken);
                }
            }
        }
    }

    [LoggerMessage(EventId = 80, EventName = "ChangeListenerFailed", Level = LogLevel.Warning,
        Message = "Listening for changes on PostgreSQL {Database} failed ({Reason}); reconnecting. Known keys keep working; changes are also picked up by polling")]
    private static partial void LogListenFailed(ILogger logger, string database, string reason);

    [LoggerMessage(EventId = 81, EventName = "ChangeListenerRecovered", Level = LogLevel.Information, Message = "Listening for changes on PostgreSQL {Database} again")]
    private static partial void LogListeningAgain(ILogger logger, string database);
}
