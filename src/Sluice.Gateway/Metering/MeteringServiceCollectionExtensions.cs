using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sluice.Core.Billing;
using Sluice.Core.Usage;
using Sluice.Storage.Sqlite;

namespace Sluice.Gateway.Metering;

public static class MeteringServiceCollectionExtensions
{
    /// <summary>Token counting, the ledger writer, and the ledger and balance stores (embedded SQLite unless the
    /// storage registration already chose another backend).</summary>
    public static IServiceCollection AddSluiceMetering(this IServiceCollection services)
    {
        services.AddOptions<MeteringOptions>().BindConfiguration(MeteringOptions.Section)
            .Validate(o => o.BatchSize > 0, $"{MeteringOptions.Section}:BatchSize must be positive.")
            .Validate(o => o.BufferCapacity > 0, $"{MeteringOptions.Section}:BufferCapacity must be positive.")
            .Validate(o => o.FlushInterval >= TimeSpan.Zero, $"{MeteringOptions.Section}:FlushInterval must not be negative.")
            .ValidateOnStart();
        services.AddSingleton<TokenCounter>();
        services.TryAddSingleton<SqliteUsageStore>();
        services.TryAddSingleton<IUsageLedger>(provider => provider.GetRequiredService<SqliteUsageStore>());
        services.TryAddSingleton<IBalanceStore>(provider => provider.GetRequiredService<SqliteUsageStore>());
        services.AddSingleton<SelfService.AccountService>();
        services.AddSingleton<LedgerWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<LedgerWriter>());
        return services;
    }
}
