using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>
/// Three gateway processes sharing one redis-server (and one key database): 1,000 concurrent requests spread over
/// the three and over several client IPs admit exactly what one machine would.
/// </summary>
public class RedisClusterOfGatewaysTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "sluice-trio-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<SluiceProcess> _gateways = [];
    private IAsyncDisposable? _redis;
    private FakeUpstreamServer? _upstream;

    /// <summary>Starts the Redis the three instances share; returns it and the connection string they are given.</summary>
    protected virtual async Task<(IAsyncDisposable Redis, string Configuration)> StartRedisAsync()
    {
        var redis = await RedisServer.StartAsync();
        return (redis, redis.Configuration);
    }

    public async Task InitializeAsync()
    {
        (_redis, var configuration) = await StartRedisAsync();
        _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false });
        var starts = Enumerable.Range(0, 3).Select(_ => SluiceProcess.ServeAsync(
            "--data-dir", _dataDir, "--upstream", _upstream.BaseUrl, "--admin-token", "t0ken", "--redis", configuration,
            // Generous so that a loaded 2-core machine never falls back to the local limiter during the test.
            "--Sluice:Redis:Timeout=00:00:10", "--Sluice:Limiter:OutagePolicy=Closed",
            "--Logging:LogLevel:Sluice.Requests=Warning"));
        _gateways.AddRange(await Task.WhenAll(starts));
    }

    public async Task DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync();
        }
        await _upstream!.DisposeAsync();
        await _redis!.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task OneKey_1000ConcurrentAcrossThreeInstancesAndTenIps_Exactly150Admitted()
    {
        var key = await CreateKeyEverywhereAsync("hot");
        var clients = Clients(ips: Enumerable.Range(2, 10), key: _ => key);

        var statuses = await FireAsync(clients, 1_000);

        Assert.Equal(150, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(850, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task OneIp_1000ConcurrentWithTwentyKeysAcrossThreeInstances_Exactly150Admitted()
    {
        var keys = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            keys.Add(await CreateKeyEverywhereAsync("k" + i));
        }
        var clients = Clients(ips: [20], key: i => keys[i % keys.Count], perInstance: 20);

        var statuses = await FireAsync(clients, 1_000);

        Assert.Equal(150, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(850, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    private List<HttpClient> Clients(IEnumerable<int> ips, Func<int, string> key, int perInstance = 1)
    {
        var clients = new List<HttpClient>();
        var n = 0;
        foreach (var ip in ips)
        {
            foreach (var gateway in _gateways)
            {
                for (var j = 0; j < perInstance; j++)
                {
                    var client = LoopbackClients.From(LoopbackClients.Address(ip), gateway.BaseUrl, TimeSpan.FromSeconds(60));
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key(n++));
                    clients.Add(client);
                }
            }
        }
        return clients;
    }

    private static async Task<List<HttpStatusCode>> FireAsync(List<HttpClient> clients, int total)
    {
        var statuses = new ConcurrentBag<HttpStatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = 100 }, async (i, cancellationToken) =>
        {
            using var response = await clients[i % clients.Count].PostAsJsonAsync("v1/chat/completions",
                new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }, cancellationToken);
            statuses.Add(response.StatusCode);
        });
        foreach (var client in clients)
        {
            client.Dispose();
        }
        return [.. statuses];
    }

    /// <summary>Creates a key through the first instance and waits until every instance knows it.</summary>
    private async Task<string> CreateKeyEverywhereAsync(string name)
    {
        using var admin = ServeTests.Admin(_gateways[0].BaseUrl);
        using var created = await admin.PostAsJsonAsync("admin/keys", new { name });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var json = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = json.RootElement.GetProperty("key").GetString()!;
        foreach (var gateway in _gateways)
        {
            using var client = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl + "/") };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (true)
            {
                // GET /v1/models is authenticated but never counted: a free way to ask whether the key is known.
                using var probe = await client.GetAsync("v1/models");
                if (probe.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, $"instance {gateway.BaseUrl} did not learn the key within 5 s ({probe.StatusCode})");
                await Task.Delay(100);
            }
        }
        return key;
    }
}

/// <summary>
/// The same three instances on a Redis Cluster of three masters, each given every node: the decisions of the key
/// and of the IPs go to the one master owning the limiter's hash tag, and stay exact.
/// </summary>
public sealed class GatewaysOnRedisClusterOfThreeTests : RedisClusterOfGatewaysTests
{
    protected override async Task<(IAsyncDisposable Redis, string Configuration)> StartRedisAsync()
    {
        var cluster = await RedisCluster.StartAsync(masters: 3);
        return (cluster, cluster.Configuration);
    }
}
