using System.Data.Common;
using Npgsql;
using Sluice.Core.Storage;

namespace Sluice.Storage.Postgres;

/// <summary>
/// One PostgreSQL database shared by every Sluice instance: a pool of connections for the stores, a dedicated
/// connection string for the change listener, and the schema migrations (<see cref="MigrateAsync(CancellationToken)"/>). Connection
/// failures come out as <see cref="StoreUnavailableException"/>; the password never appears in a message.
/// </summary>
public sealed partial class PostgresDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    /// <param name="connectionString">An Npgsql connection string (<c>Host=…;Username=…;Password=…;Database=…</c>).
    /// Unless it says otherwise, connecting gives up after 5 s so that an unreachable server never holds a caller
    /// for long.</param>
    /// <exception cref="ArgumentException">The connection string cannot be parsed.</exception>
    public PostgresDatabase(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Timeout"))
        {
            builder.Timeout = 5;
        }
        if (!given.ContainsKey("Application Name") && !given.ContainsKey("ApplicationName"))
        {
            builder.ApplicationName = "sluice";
        }
        Description = Describe(builder);
        _dataSource = NpgsqlDataSource.Create(builder);

        // The listener holds one connection for as long as it can: outside the pool, and with a keepalive query so
        // that a server that vanished without closing the socket is noticed.
        var listener = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false };
        if (!given.ContainsKey("Keepalive"))
        {
            listener.KeepAlive = 10;
        }
        ListenerConnectionString = listener.ConnectionString;
    }

    /// <summary><c>host:port/database</c>, for messages (never the password).</summary>
    public string Description { get; }

    internal string ListenerConnectionString { get; }

    /// <summary>Runs <paramref name="work"/> on a pooled connection. A connection from the pool that turns out to be
    /// broken (the server restarted since it was last used) is dropped with the rest of the idle pool and the work is
    /// tried once more on a fresh connection, so the first call after a restart succeeds. Work given here must be safe
    /// to run twice.</summary>
    /// <exception cref="StoreUnavailableException">The server cannot be reached or cannot work right now.</exception>
    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            NpgsqlConnection connection;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            }
            catch (Exception exception) when (PostgresFaults.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
            {
                _dataSource.Clear();
                throw Unavailable(exception);
            }
            await using (connection)
            {
                try
                {
                    return await work(connection, cancellationToken);
                }
                catch (Exception exception) when (PostgresFaults.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
                {
                    _dataSource.Clear();
                    if (attempt > 1)
                    {
                        throw Unavailable(exception);
                    }
                }
            }
        }
    }

    /// <summary>Opens the listener's own connection (not pooled). Failures are the caller's to handle.</summary>
    internal async Task<NpgsqlConnection> OpenListenerAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ListenerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private StoreUnavailableException Unavailable(Exception exception) =>
        new($"The key database (PostgreSQL at {Description}) is unavailable: {exception.Message}", exception);

    private static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        var database = builder.Database ?? builder.Username ?? "postgres";
        return $"{builder.Host}:{builder.Port}/{database}";
    }
}
