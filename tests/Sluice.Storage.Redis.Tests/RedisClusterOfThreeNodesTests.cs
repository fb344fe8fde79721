using System.Net;
using Sluice.Testing.Limits;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Storage.Redis.Tests;

/// <summary>
/// The limiter on a Redis Cluster of three masters, each holding a third of the slots, through one multiplexer given
/// every node (as an operator would give them to <c>--redis</c>). The conformance suite's cluster run has one node,
/// so it shows that no script crosses slots, not that decisions find their node among several.
/// </summary>
public sealed class RedisClusterOfThreeNodesTests : IAsyncLifetime
{
    private RedisCluster? _cluster;
    private ConnectionMultiplexer? _connection;

    public async Task InitializeAsync()
    {
        _cluster = await RedisCluster.StartAsync(masters: 3);
        _connection = await ConnectionMultiplexer.ConnectAsync(_cluster.Configuration + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        await _connection!.DisposeAsync();
        await _cluster!.DisposeAsync();
    }

    [Fact]
    public async Task PrefixOnEachNode_DecidesExactly_WithEveryKeyOnItsOwnNode()
    {
        Assert.Equal(3, await RedisRequestLimiter.LoadScriptAsync(_connection!));
        var prefixes = OnePrefixPerNode();

        var admitted = await Task.WhenAll(prefixes.Select(async prefix =>
        {
            var limiter = new RedisRequestLimiter(_connection!, new RedisLimiterOptions { KeyPrefix = prefix.Key });
            var checks = TestPlans.Joint(25, TimeSpan.FromHours(1)).ChecksFor("k", TestPlans.Ip(1));
            var decisions = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
                limiter.TryAdmitAsync(checks, $"req-{i}", CancellationToken.None).AsTask()));
            return decisions.Count(decision => decision.Admitted);
        }));

        Assert.Equal([25, 25, 25], admitted);
        foreach (var (prefix, node) in prefixes)
        {
            foreach (var other in _cluster!.Nodes)
            {
                var keys = Server(other).Keys(pattern: "{" + prefix + "}:*").Count();
                // The clock, the key's and the IP's logs, and the 60 request ids: all on the node owning the tag's slot.
                Assert.Equal(other == node ? 63 : 0, keys);
            }
        }
    }

    [Fact]
    public async Task ScriptFlushedOnOneNode_IsLoadedAgainThere_AndCountingGoesOn()
    {
        var (prefix, node) = OnePrefixPerNode().Last();
        var limiter = new RedisRequestLimiter(_connection!, new RedisLimiterOptions { KeyPrefix = prefix });
        var checks = TestPlans.Joint(3, TimeSpan.FromHours(1)).ChecksFor("k", TestPlans.Ip(1));
        Assert.True((await limiter.TryAdmitAsync(checks, "req-1", CancellationToken.None)).Admitted);

        await Server(node).ScriptFlushAsync();
        var second = await limiter.TryAdmitAsync(checks, "req-2", CancellationToken.None);

        Assert.True(second.Admitted);
        Assert.Equal(2, second.Key().Used);
    }

    /// <summary>A key prefix whose hash tag falls on each node, found by the multiplexer's own slot function.</summary>
    private Dictionary<string, RedisServer> OnePrefixPerNode()
    {
        var found = new Dictionary<string, RedisServer>();
        var stem = TestPlans.Unique();
        for (var i = 0; found.Count < _cluster!.Nodes.Count; i++)
        {
            var prefix = $"{stem}-{i}";
            var node = _cluster.NodeOf(_connection!.HashSlot("{" + prefix + "}:clock"));
            if (!found.ContainsValue(node))
            {
                found[prefix] = node;
            }
        }
        return found;
    }

    private IServer Server(RedisServer node) => _connection!.GetServer(IPAddress.Loopback, node.Port);
}
