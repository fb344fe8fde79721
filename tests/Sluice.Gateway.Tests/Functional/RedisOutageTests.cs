using System.Net;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The gateway on a real redis-server that is stopped and started under it: each outage policy, no 500s, no hangs,
/// and recovery without a restart. Each test has its own Redis server.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private RedisServer? _redis;
    private FakeUpstreamServer? _upstream;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
    }

    public async Task DisposeAsync()
    {
        await _upstream!.DisposeAsync();
        await _redis!.DisposeAsync();
    }

    private Task<GatewayHost> Gateway(string policy, int limit = 150) => GatewayHost.StartAsync(_upstream!.BaseUrl,
        new Dictionary<string, string?>(RelayFixture.OnRedis(_redis!.Configuration, "outage", policy, limit)) { ["Sluice:Limiter:BreakDuration"] = "00:00:01" });

    [Fact]
    public async Task Redis_CountsAreSharedState_RefusalComesFromRedis()
    {
        await using var gateway = await Gateway("Local", limit: 2);
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        for (var i = 0; i < 2; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis!.Configuration);
        Assert.Equal(2, await redis.GetDatabase().ListLengthAsync($"{{outage}}:c:free:key|{id}"));
    }

    /// <summary>The decision script is on the server before the first request, which then needs no second round trip.</summary>
    [Fact]
    public async Task Start_LoadsTheScript_BeforeTheFirstDecision()
    {
        // INFO is an admin command for the client library.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis!.Configuration + ",allowAdmin=true");
        Assert.Equal(0, await CachedScriptsAsync(redis));

        await using var gateway = await Gateway("Closed");

        Assert.Equal(1, await CachedScriptsAsync(redis));
    }

    private static async Task<int> CachedScriptsAsync(ConnectionMultiplexer redis)
    {
        var memory = await redis.GetServers().Single().InfoAsync("memory");
        return int.Parse(memory.SelectMany(group => group).Single(pair => pair.Key == "number_of_cached_scripts").Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task LocalPolicy_RedisDiesUnderLoad_NoErrorsNoHangs_ThenRedisIsUsedAgainWithoutRestart()
    {
        await using var gateway = await Gateway("Local");
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        await AssertStatuses(client, 5, HttpStatusCode.OK);

        await _redis!.StopAsync();
        // Every call still gets an answer, from the local limiter: 200s, never a 500 or a hang (the client gives up after 30 s).
        await AssertStatuses(client, 20, HttpStatusCode.OK);

        await _redis.StartAgainAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var counter = $"{{outage}}:c:free:key|{id}";
        await AssertDecidedByRedisAgainAsync(client, redis, counter);

        // SCRIPT FLUSH on the restarted server: the script is reloaded transparently.
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration + ",allowAdmin=true"))
        {
            await admin.GetServers()[0].ScriptFlushAsync();
        }
        var before = await redis.GetDatabase().ListLengthAsync(counter);
        await AssertStatuses(client, 1, HttpStatusCode.OK);
        Assert.Equal(before + 1, await redis.GetDatabase().ListLengthAsync(counter));
    }

    /// <summary>A Redis that hangs (its host frozen, packets dropped) answers nothing and refuses nothing: each call
    /// waits at most the timeout (Sluice's default 250 ms) until the breaker opens, then is decided locally at once.</summary>
    [Fact]
    public async Task LocalPolicy_RedisStopsAnswering_CallsAnsweredAfterTheTimeout_ThenRedisIsUsedAgain()
    {
        await using var gateway = await Gateway("Local");
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        await AssertStatuses(client, 2, HttpStatusCode.OK);

        _redis!.Pause();
        try
        {
            // Every call answered, none hanging (the client gives up after 30 s).
            await AssertStatuses(client, 10, HttpStatusCode.OK);
            var limiter = await gateway.HealthOnceAsync("limiter", "Degraded");
            // The reason is a timeout or, once StackExchange.Redis gives the frozen connection up (within the first
            // second, by hand), a connection failure; the policy is what users get either way.
            Assert.Contains("outage policy 'local' applies", limiter.GetProperty("description").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            _redis.Resume();
        }

        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        await AssertDecidedByRedisAgainAsync(client, redis, $"{{outage}}:c:free:key|{id}");
        Assert.Equal("Healthy", (await gateway.HealthOnceAsync("limiter", "Healthy")).GetProperty("status").GetString());
    }

    /// <summary>Waits (20 s at most) until Redis decides again: three calls in a row each add exactly one time to the
    /// key's log there.</summary>
    private static async Task AssertDecidedByRedisAgainAsync(HttpClient client, ConnectionMultiplexer redis, string counter)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var inRedis = 0;
        while (inRedis < 3 && DateTime.UtcNow < deadline)
        {
            var length = await redis.GetDatabase().ListLengthAsync(counter);
            await AssertStatuses(client, 1, HttpStatusCode.OK);
            inRedis = await redis.GetDatabase().ListLengthAsync(counter) == length + 1 ? inRedis + 1 : 0;
            await Task.Delay(inRedis == 0 ? 200 : 0);
        }
        Assert.True(inRedis == 3, "decisions should go to Redis again once it is back");
    }

    [Fact]
    public async Task LocalPolicy_ConcurrentLoad_RedisStoppedAndStarted_EveryCallAnswered()
    {
        await using var gateway = await Gateway("Local", limit: 1_000_000);
        var (_, key) = await gateway.CreateKeyAsync();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            using var client = gateway.ClientFrom(2 + (w % 4), key);
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
                statuses.Add(response.StatusCode);
            }
        })).ToArray();

        await Task.Delay(500);
        await _redis!.StopAsync();
        await Task.Delay(2_000);
        var duringOutage = statuses.Count;
        await _redis.StartAgainAsync();
        await Task.Delay(2_000);
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.True(statuses.Count > duringOutage, "calls kept being answered after Redis came back");
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
    }

    [Fact]
    public async Task ClosedPolicy_RedisDown_503WithRetryAfterAndReason_ThenRecovers()
    {
        await using var gateway = await Gateway("Closed");
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        await AssertStatuses(client, 1, HttpStatusCode.OK);

        await _redis!.StopAsync();
        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
            var error = await RelayFixture.ErrorOf(refused);
            Assert.Equal("limiter_unavailable", error.GetProperty("code").GetString());
        }
        await AssertStatuses(client, 5, HttpStatusCode.ServiceUnavailable);
        var upstreamCalls = _upstream!.RequestCount;
        // An operator's monitor sees it: /healthz stays 200 (the process works) but says what is wrong and what that means.
        var (healthStatus, report) = await gateway.HealthAsync();
        Assert.Equal(HttpStatusCode.OK, healthStatus);
        Assert.Equal("Degraded", report.GetProperty("status").GetString());
        var limiter = report.GetProperty("components").GetProperty("limiter");
        Assert.Equal("Degraded", limiter.GetProperty("status").GetString());
        Assert.Contains("outage policy 'closed' applies: every request is refused with 503", limiter.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(limiter.TryGetProperty("since", out _));

        await _redis.StartAgainAsync();
        var status = HttpStatusCode.ServiceUnavailable;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            status = response.StatusCode;
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"unexpected {status}");
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(upstreamCalls + 1, _upstream.RequestCount);
        Assert.Equal("Healthy", (await gateway.HealthOnceAsync("limiter", "Healthy")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task OpenPolicy_RedisDown_AdmitsEverything()
    {
        await using var gateway = await Gateway("Open", limit: 2);
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        await _redis!.StopAsync();

        await AssertStatuses(client, 5, HttpStatusCode.OK);
    }

    internal static async Task AssertStatuses(HttpClient client, int count, HttpStatusCode expected)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.True(expected == response.StatusCode, $"call {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
