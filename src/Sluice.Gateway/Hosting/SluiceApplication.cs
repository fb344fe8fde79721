using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sluice.Gateway.Inspection;

namespace Sluice.Gateway.Hosting;

/// <summary>Builds the gateway application; the <c>sluice serve</c> command and the tests both start it this way.</summary>
public static class SluiceApplication
{
    /// <summary>Defaults that any configuration source overrides.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["urls"] = "http://127.0.0.1:8080",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        ["Logging:LogLevel:Yarp"] = "Error",
        ["Logging:LogLevel:System.Net.Http"] = "Warning",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
    };

    /// <exception cref="AggregateException">The configuration is invalid; each inner exception lists failures.</exception>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // JSON bodies are limited by Sluice:Relay:MaxRequestBodyBytes with an OpenAI-shaped 413; uploads stream through.
            kestrel.Limits.MaxRequestBodySize = null;
            // Sluice answers over-long URLs and over-large headers itself, in OpenAI's shape (RequestSizeMiddleware).
            kestrel.Limits.MaxRequestLineSize = RequestSizeMiddleware.KestrelRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = RequestSizeMiddleware.KestrelHeaderBytes;
        });
        builder.Services.AddSluiceGateway();
        configure?.Invoke(builder);
        var app = builder.Build();
        // Validate every option now, before the pipeline is built: a bad configuration stops here with all its
        // problems listed (an AggregateException of OptionsValidationExceptions), not with the first one.
        app.Services.GetService<IStartupValidator>()?.Validate();
        app.UseSluiceGateway();
        return app;
    }
}
