using System.Net;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The gateway on a redis-server that asks for a password (<c>requirepass</c>), as managed Redis services do: with
/// the password in <c>Sluice:Redis:Configuration</c> decisions are taken there; with a wrong one the outage policy
/// answers and <c>/healthz</c> says that authentication failed.
/// </summary>
public sealed class RedisPasswordTests : IAsyncLifetime
{
    private RedisServer? _redis;
    private FakeUpstreamServer? _upstream;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync(password: "s3cret-" + Guid.NewGuid().ToString("N")[..8]);
        _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
    }

    public async Task DisposeAsync()
    {
        await _upstream!.DisposeAsync();
        await _redis!.DisposeAsync();
    }

    private Task<GatewayHost> Gateway(string configuration) => GatewayHost.StartAsync(_upstream!.BaseUrl, RelayFixture.OnRedis(configuration, "auth", "Closed"));

    [Fact]
    public async Task RightPassword_DecisionsAreTakenInRedis()
    {
        await using var gateway = await Gateway(_redis!.Configuration);
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);

        await RedisOutageTests.AssertStatuses(client, 2, HttpStatusCode.OK);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        Assert.Equal(2, await redis.GetDatabase().ListLengthAsync($"{{auth}}:c:free:key|{id}"));
        Assert.Equal("Healthy", (await gateway.HealthOnceAsync("limiter", "Healthy")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task WrongPassword_OutagePolicyAnswers_AndHealthSaysAuthenticationFailed()
    {
        await using var gateway = await Gateway($"127.0.0.1:{_redis!.Port},abortConnect=false,password=wrong");
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);

        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("limiter_unavailable", (await RelayFixture.ErrorOf(refused)).GetProperty("code").GetString());
        }
        await RedisOutageTests.AssertStatuses(client, 2, HttpStatusCode.ServiceUnavailable);

        var limiter = await gateway.HealthOnceAsync("limiter", "Degraded");
        Assert.Contains("AuthenticationFailure", limiter.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _upstream!.RequestCount);
    }
}
