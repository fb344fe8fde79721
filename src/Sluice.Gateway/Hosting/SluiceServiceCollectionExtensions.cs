using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;
using Sluice.Gateway.Admin;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Authentication;
using Sluice.Gateway.ClientIp;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Forwarding;
using Sluice.Gateway.Inspection;
using Sluice.Gateway.Limiting;
using Sluice.Gateway.Metering;
using Sluice.Gateway.Storage;
using OpenTelemetry.Metrics;

namespace Sluice.Gateway.Hosting;

public static class SluiceServiceCollectionExtensions
{
    /// <summary>Everything the gateway needs: options (validated at start), storage, keys, limiter, forwarding, admin.</summary>
    public static IServiceCollection AddSluiceGateway(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<SluiceOptions>().BindConfiguration(SluiceOptions.Section)
            .PostConfigure(options =>
            {
                if (options.Plans.Count == 0)
                {
                    options.Plans = PlanCatalog.Defaults();
                }
                if (options.Prices.Count == 0)
                {
                    options.Prices = Core.Billing.PriceTable.Defaults();
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SluiceOptions>, SluiceOptionsValidator>();
        services.AddOptions<ClientIpOptions>().BindConfiguration(ClientIpOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClientIpOptions>, ClientIpOptionsValidator>();
        services.AddOptions<UpstreamOptions>().BindConfiguration(UpstreamOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UpstreamOptions>, UpstreamOptionsValidator>();
        services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RelayOptions>, RelayOptionsValidator>();
        services.AddSingleton<RelayEndpoints>();
        services.AddOptions<AdminOptions>().BindConfiguration(AdminOptions.Section);

        services.AddSingleton<DataDirectory>();
        services.AddOptions<Logging.AccessLogOptions>().BindConfiguration(Logging.AccessLogOptions.Section)
            .Validate(o => o.FlushInterval > TimeSpan.Zero, $"{Logging.AccessLogOptions.Section}:FlushInterval must be positive.")
            .ValidateOnStart();
        services.AddSingleton<Logging.AccessLog>();
        services.AddHostedService(provider => provider.GetRequiredService<Logging.AccessLog>());
        services.AddSingleton(provider =>
        {
            var errors = new List<string>();
            var options = provider.GetRequiredService<IOptions<SluiceOptions>>().Value;
            return PlanCatalog.Compile(options.Plans, errors, options.Prices)
                ?? throw new OptionsValidationException(SluiceOptions.Section, typeof(SluiceOptions), errors);
        });

        // Storage first: its start-up step (schema) runs before the others.
        services.AddSluiceStorage();
        services.AddSingleton<KeyDirectory>();
        services.AddSingleton<KeyHashCache>();

        // The limiter: embedded, or Redis behind the outage policy.
        services.AddSluiceLimiter();

        // Metering, the ledger and balances.
        services.AddSluiceMetering();

        // Forwarding.
        services.AddHttpForwarder();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<ModelsCache>();
        services.AddSingleton<ClientIpResolver>();
        services.AddSingleton<ClientAccess>();

        // Start-up order: storage (above), admin token, keys, limiter state; the server starts after all of them.
        services.AddSingleton<AdminToken>();
        services.AddHostedService(provider => provider.GetRequiredService<AdminToken>());
        services.AddSingleton<KeyDirectorySync>();
        services.AddHostedService(provider => provider.GetRequiredService<KeyDirectorySync>());

        services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            .AllowAnyOrigin()
            .AllowAnyHeader()
            .AllowAnyMethod()
            .SetPreflightMaxAge(TimeSpan.FromDays(1))
            .WithExposedHeaders(
                RateLimitHeaders.LimitRequests, RateLimitHeaders.RemainingRequests, RateLimitHeaders.ResetRequests,
                RateLimitHeaders.RateLimitPolicy, RateLimitHeaders.RateLimit, "Retry-After", RetryAdvice.RetryAfterMsHeader, RetryAdvice.ShouldRetryHeader, RequestIds.OpenAIHeader, "openai-processing-ms",
                RequestIds.Header)));
        // /healthz: each part says how it is; any trouble makes it Degraded (still 200), a full ledger buffer Unhealthy (503).
        services.AddHealthChecks()
            .Add(Component("keys", provider => provider.GetRequiredService<KeyDirectorySync>()))
            .Add(Component("ledger", provider => provider.GetRequiredService<LedgerWriter>()))
            .Add(Component("limiter", provider => (IComponentHealth)provider.GetRequiredService<IRequestLimiter>()));
        services.AddSingleton<AdmissionMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(LimiterMetrics.MeterName).AddPrometheusExporter());
        services.Configure<JsonOptions>(json =>
        {
            // The admin API speaks snake_case, like OpenAI's own API.
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJsonContext.Default);
        });
        return services;
    }

    private static HealthCheckRegistration Component(string name, Func<IServiceProvider, IComponentHealth> component) =>
        new(name, provider => new ComponentHealthCheck(component(provider)), failureStatus: null, tags: null);
}
