using System.Net;
using StackExchange.Redis;

namespace Sluice.Testing.Servers;

/// <summary>
/// A Redis Cluster of real <c>redis-server</c> nodes on loopback, each a master holding an equal share of the 16,384
/// hash slots (no replicas), joined with <c>CLUSTER MEET</c>. Started and torn down by the test that uses it.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private const int Slots = 16_384;
    private readonly List<RedisServer> _nodes;

    private RedisCluster(List<RedisServer> nodes)
    {
        _nodes = nodes;
    }

    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>A StackExchange.Redis connection string naming every node, as an operator would give it.</summary>
    public string Configuration => string.Join(',', _nodes.Select(node => $"127.0.0.1:{node.Port}")) + ",abortConnect=false";

    public static async Task<RedisCluster> StartAsync(int masters = 3)
    {
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < masters; i++)
            {
                nodes.Add(await RedisServer.StartClusterMemberAsync());
            }
            var cluster = new RedisCluster(nodes);
            await cluster.FormAsync(DateTime.UtcNow.AddSeconds(60));
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>Which node holds <paramref name="slot"/>: node i holds the i-th equal range.</summary>
    public RedisServer NodeOf(int slot) => _nodes[Math.Min(slot / (Slots / _nodes.Count), _nodes.Count - 1)];

    private async Task FormAsync(DateTime deadline)
    {
        var options = new ConfigurationOptions { AllowAdmin = true };
        foreach (var node in _nodes)
        {
            options.EndPoints.Add(IPAddress.Loopback, node.Port);
        }
        await using var admin = await ConnectionMultiplexer.ConnectAsync(options);
        var share = Slots / _nodes.Count;
        for (var i = 0; i < _nodes.Count; i++)
        {
            var server = Server(admin, _nodes[i]);
            var last = i == _nodes.Count - 1 ? Slots - 1 : ((i + 1) * share) - 1;
            await server.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", i * share, last);
            if (i > 0)
            {
                await server.ExecuteAsync("CLUSTER", "MEET", "127.0.0.1", _nodes[0].Port, _nodes[0].ClusterBusPort);
            }
        }
        // Every node must know every other and see all slots served before a client is given the cluster.
        foreach (var node in _nodes)
        {
            var server = Server(admin, node);
            while (true)
            {
                var info = (string?)await server.ExecuteAsync("CLUSTER", "INFO") ?? "";
                if (info.Contains("cluster_state:ok", StringComparison.Ordinal)
                    && info.Contains($"cluster_known_nodes:{_nodes.Count}\r", StringComparison.Ordinal))
                {
                    break;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The {_nodes.Count}-node Redis cluster did not form: {info}");
                }
                await Task.Delay(100);
            }
        }
    }

    private static IServer Server(ConnectionMultiplexer admin, RedisServer node) => admin.GetServer(IPAddress.Loopback, node.Port);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
