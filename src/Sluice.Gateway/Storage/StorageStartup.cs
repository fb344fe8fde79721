using Microsoft.Extensions.Hosting;
using Sluice.Storage.Sqlite;

using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Storage;

/// <summary>Creates the data directory and brings the database schema up to date before anything else starts.</summary>
internal sealed class StorageStartup : IHostedService
{
    private readonly DataDirectory _dataDirectory;
    private readonly SqliteDatabase _database;

    public StorageStartup(DataDirectory dataDirectory, SqliteDatabase database)
    {
        _dataDirectory = dataDirectory;
        _database = database;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _dataDirectory.EnsureExists();
        await _database.MigrateAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
