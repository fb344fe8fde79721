using Sluice.Core.Limits;
using Sluice.Testing.Limits;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Storage.Redis.Tests;

/// <summary>
/// The Redis limiter passes the same conformance suite as the embedded one, against a real redis-server. Each
/// limiter made here has its own connection (as separate gateway processes would), all under this test's own
/// key prefix.
/// </summary>
public class RedisRequestLimiterTests : RequestLimiterConformance, IAsyncLifetime
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<ConnectionMultiplexer> _connections = [];
    private RedisServer? _redis;

    /// <summary>The server the suite runs against.</summary>
    protected virtual RedisEngine Engine => RedisEngine.Redis;

    public async Task InitializeAsync() => _redis = await RedisServer.SharedAsync(Engine);

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    protected override IRequestLimiter CreateLimiter(TimeProvider time)
    {
        var connection = ConnectionMultiplexer.Connect(_redis!.Configuration);
        _connections.Add(connection);
        return new RedisRequestLimiter(connection, new RedisLimiterOptions { KeyPrefix = _prefix }, time);
    }
}

/// <summary>
/// The same suite against Microsoft's Garnet (Lua enabled, scripts run as transactions): the limiter's script, its
/// hash-tagged keys and its integer replies work there unchanged.
/// </summary>
public sealed class GarnetRequestLimiterTests : RedisRequestLimiterTests
{
    protected override RedisEngine Engine => RedisEngine.Garnet;
}

/// <summary>
/// The same suite against Valkey (Debian's <c>valkey-server</c> 8.0 from bookworm-backports), the Linux Foundation's
/// fork of Redis: the script runs there unchanged.
/// </summary>
public sealed class ValkeyRequestLimiterTests : RedisRequestLimiterTests
{
    protected override RedisEngine Engine => RedisEngine.Valkey;
}

/// <summary>
/// The same suite against Redis in cluster mode (one node holding all 16,384 slots): cluster mode refuses a script
/// whose keys hash to different slots (CROSSSLOT), so every decision passing here shows the key log, the IP log,
/// the clock and the request id share one slot.
/// </summary>
public sealed class RedisClusterRequestLimiterTests : RedisRequestLimiterTests
{
    protected override RedisEngine Engine => RedisEngine.RedisCluster;
}
