using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sluice.Core.Billing;
using Sluice.Core.Keys;
using Sluice.Core.Usage;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Postgres;
using Sluice.Storage.Sqlite;

namespace Sluice.Gateway.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The durable stores (keys, the usage ledger, balances): the embedded SQLite file under the data directory, or, with
    /// <c>Sluice:Postgres:ConnectionString</c>, PostgreSQL shared by every instance, with a LISTEN/NOTIFY listener
    /// that brings changes made through other instances into memory at once.
    /// </summary>
    public static IServiceCollection AddSluiceStorage(this IServiceCollection services)
    {
        services.AddOptions<PostgresOptions>().BindConfiguration(PostgresOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>();

        services.AddSingleton(provider => new SqliteDatabase(provider.GetRequiredService<DataDirectory>().DatabasePath));
        services.AddSingleton<SqliteKeyStore>();
        services.AddSingleton(provider => new PostgresDatabase(provider.GetRequiredService<IOptions<PostgresOptions>>().Value.ConnectionString!));
        services.AddSingleton<PostgresKeyStore>();
        services.AddSingleton<IKeyStore>(provider => provider.GetRequiredService<IOptions<PostgresOptions>>().Value.Enabled
            ? provider.GetRequiredService<PostgresKeyStore>()
            : new SqliteKeyStoreFaults(provider.GetRequiredService<SqliteKeyStore>()));

        // The usage ledger and balances live with the keys.
        services.AddSingleton<SqliteUsageStore>();
        services.AddSingleton<PostgresUsageStore>();
        services.AddSingleton<IUsageLedger>(provider => provider.GetRequiredService<IOptions<PostgresOptions>>().Value.Enabled
            ? provider.GetRequiredService<PostgresUsageStore>()
            : provider.GetRequiredService<SqliteUsageStore>());
        services.AddSingleton<IBalanceStore>(provider => provider.GetRequiredService<IOptions<PostgresOptions>>().Value.Enabled
            ? provider.GetRequiredService<PostgresUsageStore>()
            : provider.GetRequiredService<SqliteUsageStore>());

        // What follows PostgreSQL's notifications: the key directory (later also plans and balances).
        services.AddSingleton<IPostgresChangeSubscriber>(provider =>
            new KeyDirectoryChanges(provider.GetRequiredService<IKeyStore>(), provider.GetRequiredService<KeyDirectory>()));
        services.AddSingleton<PostgresChangeListener>();

        // While the database is unavailable, calls that need it answer 503 (one warning line each, no stack trace).
        services.AddExceptionHandler<StoreUnavailableResponse>();

        // First of the start-up steps: the data directory and the schema, before keys are loaded.
        services.AddHostedService<StorageStartup>();
        services.AddHostedService<PostgresChangeNotifications>();
        return services;
    }
}
