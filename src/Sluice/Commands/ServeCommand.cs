using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sluice.Gateway.Hosting;

namespace Sluice.Commands;

/// <summary><c>sluice serve</c>: maps its options onto configuration keys and runs the gateway.
/// Any other <c>--Sluice:…=value</c> argument is passed to configuration as it is.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Directory for the key database, limiter state and admin token (default ./data)." };
        var upstream = new Option<string?>("--upstream") { Description = "Upstream base URL (default https://api.openai.com)." };
        var upstreamKey = new Option<string?>("--upstream-key") { Description = "The operator's upstream API key, sent in place of users' keys." };
        var upstreamCa = new Option<string?>("--upstream-ca") { Description = "A PEM file of the CA certificates an https:// upstream must chain to, instead of the system's (a self-hosted provider)." };
        var adminToken = new Option<string?>("--admin-token") { Description = "Token for the admin API (default: generated into <data-dir>/admin-token)." };
        var trustedProxy = new Option<string[]>("--trusted-proxy")
        {
            Description = "A proxy (IP or CIDR) whose X-Forwarded-For is believed; repeatable.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var redis = new Option<string?>("--redis") { Description = "A StackExchange.Redis connection string: keep limiter state in Redis, shared by every instance." };
        var redisCa = new Option<string?>("--redis-ca") { Description = "A PEM file of the CA certificates Redis's TLS certificate must chain to, instead of the system's (with ssl=true in --redis)." };
        var postgres = new Option<string?>("--postgres") { Description = "An Npgsql connection string: keep keys in PostgreSQL, shared by every instance." };
        var command = new Command("serve", "Run the gateway.") { urls, dataDir, upstream, upstreamKey, upstreamCa, adminToken, trustedProxy, redis, redisCa, postgres };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new List<string>();
            Add(settings, "urls", result.GetValue(urls));
            Add(settings, "Sluice:DataDir", result.GetValue(dataDir));
            Add(settings, "Sluice:Upstream:BaseUrl", result.GetValue(upstream));
            Add(settings, "Sluice:Upstream:ApiKey", result.GetValue(upstreamKey));
            Add(settings, "Sluice:Upstream:CaCertificate", result.GetValue(upstreamCa));
            Add(settings, "Sluice:Admin:Token", result.GetValue(adminToken));
            Add(settings, "Sluice:Redis:Configuration", result.GetValue(redis));
            Add(settings, "Sluice:Redis:CaCertificate", result.GetValue(redisCa));
            Add(settings, "Sluice:Postgres:ConnectionString", result.GetValue(postgres));
            var proxies = result.GetValue(trustedProxy) ?? [];
            for (var i = 0; i < proxies.Length; i++)
            {
                Add(settings, $"Sluice:ClientIp:TrustedProxies:{i}", proxies[i]);
            }
            settings.AddRange(result.UnmatchedTokens);
            return await RunAsync([.. settings], cancellationToken);
        });
        return command;
    }

    private static void Add(List<string> settings, string key, string? value)
    {
        if (value is not null)
        {
            settings.Add($"--{key}={value}");
        }
    }

    private static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = SluiceApplication.Create(args);
            await app.StartAsync(cancellationToken);
        }
        catch (Exception exception) when (ConfigurationErrors(exception) is { Count: > 0 } errors)
        {
            await Console.Error.WriteLineAsync($"Sluice cannot start: the configuration has {errors.Count} problem(s):");
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync("  - " + error);
            }
            return 2;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // A start-up step failed (the database unreachable past its start timeout, a wrong password, a data
            // directory that cannot be written): say what, without a stack trace; the log above has the details.
            await Console.Error.WriteLineAsync($"Sluice cannot start: {Describe(exception)}");
            return 1;
        }
        // Ctrl-C and SIGTERM reach the host (its console lifetime), which then stops gracefully.
        await app.WaitForShutdownAsync(CancellationToken.None);
        await app.DisposeAsync();
        return 0;
    }

    private static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (parts.Count == 0 || !parts[^1].Contains(current.Message, StringComparison.Ordinal))
            {
                parts.Add(current.Message);
            }
        }
        return string.Join(" — ", parts);
    }

    /// <summary>Every option validation failure inside <paramref name="exception"/>.</summary>
    private static List<string> ConfigurationErrors(Exception exception)
    {
        var errors = new List<string>();
        switch (exception)
        {
            case OptionsValidationException validation:
                errors.AddRange(validation.Failures);
                break;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    errors.AddRange(ConfigurationErrors(inner));
                }
                break;
            case InvalidOperationException or FormatException when exception.InnerException is not null:
                errors.AddRange(ConfigurationErrors(exception.InnerException));
                if (errors.Count == 0 && exception.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(exception.Message + " " + exception.InnerException.Message);
                }
                break;
        }
        return errors;
    }
}
