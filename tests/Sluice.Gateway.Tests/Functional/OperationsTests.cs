using System.Net;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task AccessLog_OneLinePerRequest_WithKeyIdIpModelStatusLatency_NeverTheKey()
    {
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl);
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(7, key);

        string requestId, deniedId;
        using (var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat("gpt-4o-mini")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            requestId = ok.Headers.GetValues("x-sluice-request-id").Single();
        }
        using var anonymous = gateway.ClientFrom(7);
        using (var denied = await anonymous.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            deniedId = denied.Headers.GetValues("x-sluice-request-id").Single();
        }
        using (var forged = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions"))
        {
            forged.Headers.Authorization = new("Bearer", key);
            forged.Content = new StringContent("{\"model\":\"evil\\nfake line status=200\\u2028\\u0085\\u202e\",\"messages\":[]}", System.Text.Encoding.UTF8, "application/json");
            using var refused = await client.SendAsync(forged);
        }
        await gateway.StopAsync();

        var lines = gateway.AccessLogLines().Where(l => l.Contains("path=/v1/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Matches($"^\\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+Z method=POST path=/v1/chat/completions status=200 latency_ms=[0-9.]+ key={id} ip=127.0.0.7 model=gpt-4o-mini id={requestId}$", lines[0]);
        Assert.Matches($"status=401 latency_ms=[0-9.]+ key=- ip=127.0.0.7 model=- id={deniedId}$", lines[1]);
        Assert.NotEqual(requestId, deniedId);
        // A model name with a line break cannot forge a line: it is quoted and escaped.
        // So can no line or paragraph separator, C1 control or right-to-left override: each is written as \uXXXX.
        Assert.Contains("model=\"evil\\nfake line status=200\\u2028\\u0085\\u202e\"", lines[2], StringComparison.Ordinal);
        var all = string.Join("\n", gateway.AccessLogLines());
        Assert.DoesNotContain(key, all, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-secret", all, StringComparison.Ordinal);
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

    [Fact]
    public async Task KeyAddedElsewhere_ThenOneCreatedHere_BothWorkWithinASecond()
    {
        await using var relay = await RelayFixture.StartAsync();
        var store = relay.Gateway.Services.GetRequiredService<IKeyStore>();
        // Another instance adds a key; before this instance polls, its own admin API creates a newer one.
        var elsewhere = NewApiKey.Create("elsewhere", "free", DateTimeOffset.UtcNow);
        await store.AddAsync(elsewhere.Key, CancellationToken.None);
        var (_, here) = await relay.Gateway.CreateKeyAsync("here");

        using var client = relay.Gateway.ClientFrom(2, elsewhere.Secret);
        var status = HttpStatusCode.Unauthorized;
        var deadline = DateTime.UtcNow.AddSeconds(1.5);
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("v1/models");
            status = response.StatusCode;
            await Task.Delay(status == HttpStatusCode.OK ? 0 : 50);
        }
        Assert.Equal(HttpStatusCode.OK, status);
        using var mine = relay.Gateway.ClientFrom(2, here);
        using var ok = await mine.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    private static List<string> Failures(Exception exception) => exception switch
    {
        OptionsValidationException validation => [.. validation.Failures],
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Failures).ToList(),
        _ => [exception.Message],
    };
}
