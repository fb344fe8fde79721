using Npgsql;

namespace Sluice.Storage.Postgres;

/// <summary>Tells a database outage (server down, restarting, unreachable, out of connections) from an error in
/// what was asked (a constraint, bad SQL), which must not be hidden behind "unavailable".</summary>
public static class PostgresFaults
{
    /// <summary>True when <paramref name="exception"/> says the server cannot be used right now.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        // SQLSTATE classes: 08 connection exception, 53 insufficient resources (too many connections, disk full),
        // 57P operator intervention (admin/crash shutdown, cannot connect now), 58 system error (I/O).
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("58", StringComparison.Ordinal),
        // Connect refused or timed out, the socket closed under a command, the pool exhausted.
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException,
        _ => false,
    };
}
