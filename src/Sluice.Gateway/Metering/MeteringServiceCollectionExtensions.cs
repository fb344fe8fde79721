using Microsoft.Extensions.DependencyInjection;

namespace Sluice.Gateway.Metering;

public static class MeteringServiceCollectionExtensions
{
    /// <summary>Token counting, the ledger writer and the account views (the stores come from <c>AddSluiceStorage</c>).</summary>
    public static IServiceCollection AddSluiceMetering(this IServiceCollection services)
    {
        services.AddOptions<MeteringOptions>().BindConfiguration(MeteringOptions.Section)
            .Validate(o => o.BatchSize > 0, $"{MeteringOptions.Section}:BatchSize must be positive.")
            .Validate(o => o.BufferCapacity > 0, $"{MeteringOptions.Section}:BufferCapacity must be positive.")
            .Validate(o => o.FlushInterval >= TimeSpan.Zero, $"{MeteringOptions.Section}:FlushInterval must not be negative.")
            .ValidateOnStart();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<SelfService.AccountService>();
        services.AddSingleton<LedgerWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<LedgerWriter>());
        return services;
    }
}
