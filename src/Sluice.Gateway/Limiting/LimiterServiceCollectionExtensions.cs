using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Limits;
using Sluice.Core.Limits.Embedded;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Redis;
using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

public static class LimiterServiceCollectionExtensions
{
    /// <summary>
    /// The limiter: the embedded one by default; with <c>Sluice:Redis:Configuration</c>, Redis (one multiplexed
    /// connection per process) behind the outage policy, with the embedded one as the local fallback.
    /// </summary>
    public static IServiceCollection AddSluiceLimiter(this IServiceCollection services)
    {
        services.AddOptions<LimiterOptions>().BindConfiguration(LimiterOptions.Section)
            .Validate(o => o.SnapshotInterval > TimeSpan.Zero, $"{LimiterOptions.Section}:SnapshotInterval must be positive.")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, $"{LimiterOptions.Section}:SweepInterval must be positive.")
            .Validate(o => o.BreakDuration >= TimeSpan.FromMilliseconds(500), $"{LimiterOptions.Section}:BreakDuration must be at least 00:00:00.5.")
            .ValidateOnStart();
        services.AddOptions<RedisLimiterOptions>().BindConfiguration(RedisLimiterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisLimiterOptions>, RedisLimiterOptionsValidator>();
        services.AddSingleton<LimiterMetrics>();
        services.AddSingleton<InMemoryRequestLimiter>();
        services.AddHostedService<EmbeddedLimiterPersistence>();
        services.AddHostedService<RedisScriptLoader>();
        services.AddSingleton<IConnectionMultiplexer>(provider => Connect(provider.GetRequiredService<IOptions<RedisLimiterOptions>>().Value));
        services.AddSingleton<IRequestLimiter>(provider =>
        {
            var redis = provider.GetRequiredService<IOptions<RedisLimiterOptions>>().Value;
            var local = provider.GetRequiredService<InMemoryRequestLimiter>();
            if (string.IsNullOrWhiteSpace(redis.Configuration))
            {
                return new MeteredEmbeddedLimiter(local, provider.GetRequiredService<LimiterMetrics>());
            }
            var shared = new RedisRequestLimiter(provider.GetRequiredService<IConnectionMultiplexer>(), redis);
            return new ResilientRequestLimiter(shared, local, provider.GetRequiredService<IOptions<LimiterOptions>>(), redis.Timeout,
                provider.GetRequiredService<LimiterMetrics>(), provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<ResilientRequestLimiter>>());
        });
        return services;
    }

    /// <summary>One multiplexed connection; it never blocks start-up on a dead server and reconnects by itself.</summary>
    private static ConnectionMultiplexer Connect(RedisLimiterOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration!);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "sluice";
        var timeout = (int)Math.Max(1, options.Timeout.TotalMilliseconds);
        configuration.AsyncTimeout = timeout;
        configuration.SyncTimeout = Math.Max(timeout, 1000);
        configuration.ConnectTimeout = Math.Max(configuration.ConnectTimeout, 2000);
        configuration.ConnectRetry = 1;
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        // While disconnected, fail at once (the outage policy answers) instead of queueing decisions for later.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        // Replies are completed on the .NET thread pool rather than on the library's own ten socket threads: on a
        // small machine that saves a thread hand-off per decision (measured: p99 of one decision at 5,000/s down
        // several-fold, see docs/benchmarks.md section 4).
        configuration.SocketManager = SocketManager.ThreadPool;
        // No pub/sub (the limiter never subscribes, and configuration broadcasts are not needed): no second,
        // subscription connection, so one connection per process.
        configuration.ConfigurationChannel = "";
        configuration.CommandMap = CommandMap.Create(new HashSet<string> { "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE" }, available: false);
        if (!string.IsNullOrEmpty(options.CaCertificate))
        {
            configuration.CertificateValidation += CertificateTrust.Callback(CertificateTrust.Load(options.CaCertificate));
        }
        return ConnectionMultiplexer.Connect(configuration);
    }
}
