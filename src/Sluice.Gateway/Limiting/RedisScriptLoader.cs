using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Storage.Redis;
using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

/// <summary>
/// With the Redis limiter: connects and loads the decision script before the server takes requests, so that the
/// first decision is not the one that connects and loads it (and, at the limiter's short timeout, perhaps falls to
/// the outage policy). Redis being down at start stops nothing: it is logged, and the outage policy answers.
/// </summary>
internal sealed partial class RedisScriptLoader : IHostedService
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(5);

    private readonly IServiceProvider _services;
    private readonly RedisLimiterOptions _options;
    private readonly ILogger _logger;

    public RedisScriptLoader(IServiceProvider services, IOptions<RedisLimiterOptions> options, ILogger<RedisScriptLoader> logger)
    {
        _services = services;
        _options = options.Value;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.Configuration))
        {
            return;
        }
        var redis = _services.GetRequiredService<IConnectionMultiplexer>();
        try
        {
            if (await RedisRequestLimiter.LoadScriptAsync(redis).WaitAsync(LoadTimeout, cancellationToken) == 0)
            {
                // Not connected: a PING fails at once (no backlog) with what stopped the connection, which is what
                // the operator needs to read (a wrong password, an untrusted certificate, nothing listening). If it
                // answers, the connection has just come up: load again.
                await redis.GetDatabase().PingAsync().WaitAsync(LoadTimeout, cancellationToken);
                if (await RedisRequestLimiter.LoadScriptAsync(redis).WaitAsync(LoadTimeout, cancellationToken) == 0)
                {
                    LogNotLoaded(_logger, "not connected");
                }
            }
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogNotLoaded(_logger, RedisFailures.Brief(exception));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 52, EventName = "LimiterScriptNotLoaded", Level = LogLevel.Warning,
        Message = "The Redis limiter's script could not be loaded at start ({Reason}); the first decisions will load it, or the outage policy answers while Redis is unavailable")]
    private static partial void LogNotLoaded(ILogger logger, string reason);
}
