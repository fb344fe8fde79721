using Microsoft.Extensions.Options;
using Npgsql;

namespace Sluice.Gateway.Storage;

/// <summary>Checks the PostgreSQL settings, reporting every problem (never the password).</summary>
internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions options)
    {
        var errors = new List<string>();
        if (options.Enabled)
        {
            try
            {
                var parsed = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                if (string.IsNullOrWhiteSpace(parsed.Host))
                {
                    errors.Add($"{PostgresOptions.Section}:ConnectionString names no server (--postgres); e.g. Host=127.0.0.1;Username=sluice;Password=…;Database=sluice.");
                }
            }
            catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                errors.Add($"{PostgresOptions.Section}:ConnectionString is not a valid Npgsql connection string (--postgres): {exception.Message}");
            }
        }
        if (options.StartTimeout < TimeSpan.Zero)
        {
            errors.Add($"{PostgresOptions.Section}:StartTimeout must not be negative (was {options.StartTimeout}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
