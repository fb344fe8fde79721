using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Keys;
using Sluice.FakeUpstream;
using Sluice.Gateway.Hosting;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>What an operator relies on: the request log, start-up validation, keys changed elsewhere.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task RequestLog_OneLinePerRequest_WithKeyIdIpModelStatusLatency_NeverTheKey()
    {
        var logs = new CapturingLoggerProvider();
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, new Dictionary<string, string?> { ["Logging:LogLevel:Sluice.Requests"] = "Information" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(7, key);

        using (var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat("gpt-4o-mini")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var anonymous = gateway.ClientFrom(7);
        using (var denied = await anonymous.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        }
        await gateway.StopAsync();

        var lines = logs.Entries.Where(e => e.Category == "Sluice.Requests" && e.Message.Contains("/v1/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Matches($"^POST /v1/chat/completions 200 [0-9.]+ms key={id} ip=127.0.0.7 model=gpt-4o-mini$", lines[0].Message);
        Assert.Matches("^POST /v1/chat/completions 401 [0-9.]+ms key=- ip=127.0.0.7 model=-$", lines[1].Message);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(key, StringComparison.Ordinal) || e.Message.Contains("sk-upstream-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadConfiguration_StopsStartListingEveryProblem()
    {
        var args = new[]
        {
            "--urls=http://127.0.0.1:0",
            "--Sluice:DataDir=" + Path.Combine(Path.GetTempPath(), "sluice-bad-" + Guid.NewGuid().ToString("N")),
            "--Sluice:Upstream:BaseUrl=not a url",
            "--Sluice:ClientIp:TrustedProxies:0=300.1.1.1",
            "--Sluice:Plans:free:Limits:0:Requests=-5",
            "--Sluice:Plans:free:Limits:0:Window=00:00:00",
        };
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = SluiceApplication.Create(args);
            await app.StartAsync();
        });

        var messages = Failures(failure);
        Assert.Contains(messages, m => m.Contains("Sluice:Upstream:BaseUrl", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("TrustedProxies:0", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Limits:0:Requests", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Limits:0:Window", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KeyAddedToTheStoreElsewhere_IsHonouredWithinASecond()
    {
        await using var relay = await RelayFixture.StartAsync();
        var store = relay.Gateway.Services.GetRequiredService<IKeyStore>();
        var made = NewApiKey.Create("from-elsewhere", "free", DateTimeOffset.UtcNow);
        await store.AddAsync(made.Key, CancellationToken.None);
        using var client = relay.Gateway.ClientFrom(2, made.Secret);

        var status = HttpStatusCode.Unauthorized;
        var deadline = DateTime.UtcNow.AddSeconds(1.5);
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            status = response.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(50);
            }
        }
        Assert.Equal(HttpStatusCode.OK, status);
    }

    private static List<string> Failures(Exception exception) => exception switch
    {
        OptionsValidationException validation => [.. validation.Failures],
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Failures).ToList(),
        _ => [exception.Message],
    };

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, string Message)> Queue { get; } = new();

        public List<(string Category, string Message)> Entries => [.. Queue];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Queue);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, string)> queue) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                queue.Enqueue((category, formatter(state, exception)));
        }
    }
}
