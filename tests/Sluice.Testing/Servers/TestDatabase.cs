namespace Sluice.Testing.Servers;

/// <summary>A database of one test's own on a <see cref="PostgresServer"/>; dropped (connections and all) on dispose.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly PostgresServer _server;

    internal TestDatabase(PostgresServer server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>An Npgsql connection string for this database.</summary>
    public string ConnectionString { get; }

    public async ValueTask DisposeAsync()
    {
        if (_server.IsRunning)
        {
            await _server.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        }
    }
}
