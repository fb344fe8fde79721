using Microsoft.Extensions.Options;
using Sluice.Gateway.Hosting;
using Sluice.Storage.Redis;
using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

internal sealed class RedisLimiterOptionsValidator : IValidateOptions<RedisLimiterOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisLimiterOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Configuration))
        {
            try
            {
                var parsed = ConfigurationOptions.Parse(options.Configuration);
                if (parsed.EndPoints.Count == 0)
                {
                    errors.Add($"{RedisLimiterOptions.Section}:Configuration names no server (--redis); e.g. 127.0.0.1:6379.");
                }
                if (!string.IsNullOrEmpty(options.CaCertificate) && !parsed.Ssl)
                {
                    errors.Add($"{RedisLimiterOptions.Section}:CaCertificate (--redis-ca) is only for Redis over TLS; add ssl=true to the connection string (--redis).");
                }
            }
            catch (ArgumentException exception)
            {
                errors.Add($"{RedisLimiterOptions.Section}:Configuration is not a valid StackExchange.Redis connection string (--redis): {exception.Message}");
            }
        }
        if (!string.IsNullOrEmpty(options.CaCertificate))
        {
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                errors.Add($"{RedisLimiterOptions.Section}:CaCertificate (--redis-ca) is set but no Redis is (--redis).");
            }
            CertificateTrust.Check(options.CaCertificate, $"{RedisLimiterOptions.Section}:CaCertificate (--redis-ca)", errors);
        }
        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.IndexOfAny(['{', '}', ' ']) >= 0)
        {
            errors.Add($"{RedisLimiterOptions.Section}:KeyPrefix must be non-empty, without braces or spaces (was '{options.KeyPrefix}').");
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{RedisLimiterOptions.Section}:Timeout must be positive (was {options.Timeout}).");
        }
        if (options.RequestIdTtl < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{RedisLimiterOptions.Section}:RequestIdTtl must be at least one second (was {options.RequestIdTtl}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
