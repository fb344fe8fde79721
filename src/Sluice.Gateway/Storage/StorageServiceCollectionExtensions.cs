using Microsoft.Extensions.DependencyInjection;
using Sluice.Core.Keys;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Sqlite;

namespace Sluice.Gateway.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The durable stores (keys): the embedded SQLite file under the data directory.</summary>
    public static IServiceCollection AddSluiceStorage(this IServiceCollection services)
    {
        services.AddSingleton(provider => new SqliteDatabase(provider.GetRequiredService<DataDirectory>().DatabasePath));
        services.AddSingleton<IKeyStore, SqliteKeyStore>();
        // First of the start-up steps: the data directory and the schema, before keys are loaded.
        services.AddHostedService<StorageStartup>();
        return services;
    }
}
