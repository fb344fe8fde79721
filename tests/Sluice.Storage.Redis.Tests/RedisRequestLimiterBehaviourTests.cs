using Microsoft.Extensions.Time.Testing;
using Sluice.Testing.Limits;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Storage.Redis.Tests;

/// <summary>What only the Redis limiter does: request ids, Redis TIME, key expiry and hash tags, script reloads.</summary>
public sealed class RedisRequestLimiterBehaviourTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..12];
    private RedisServer? _redis;
    private ConnectionMultiplexer? _connection;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.SharedAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration + ",allowAdmin=true");
    }

    public async Task DisposeAsync() => await _connection!.DisposeAsync();

    private RedisRequestLimiter Limiter(TimeProvider? clock = null) => new(_connection!, new RedisLimiterOptions { KeyPrefix = _prefix }, clock);

    [Fact]
    public async Task TryAdmit_SameRequestIdTwice_CountsOnce_AndAnswersTheSame()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(5, TimeSpan.FromHours(1));
        var checks = plan.ChecksFor("k", TestPlans.Ip(1));

        var first = await limiter.TryAdmitAsync(checks, "req-1", CancellationToken.None);
        var retry = await limiter.TryAdmitAsync(checks, "req-1", CancellationToken.None);

        Assert.True(first.Admitted);
        Assert.True(retry.Admitted);
        Assert.Equal(first.TimestampMs, retry.TimestampMs);
        Assert.Equal(1, retry.Key().Used);
        var peek = await limiter.PeekAsync(checks, CancellationToken.None);
        Assert.Equal(1, peek.Key().Used);
    }

    [Fact]
    public async Task TryAdmit_RequestIdDecidedByAnInstanceNotYetUpgraded_AnswersWhatItDecided()
    {
        // The earlier script kept the same text under the request id (then made by table.concat), so a decision
        // retried across a rolling upgrade still counts once.
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(5, TimeSpan.FromHours(1));
        var checks = plan.ChecksFor("k", TestPlans.Ip(1));
        var at = Start.ToUnixTimeMilliseconds();
        await _connection!.GetDatabase().StringSetAsync("{" + _prefix + "}:r:req-old", $"1,{at},3,3600000,0,2,3500000,0");

        var retry = await limiter.TryAdmitAsync(checks, "req-old", CancellationToken.None);

        Assert.True(retry.Admitted);
        Assert.Equal(at, retry.TimestampMs);
        Assert.Equal((3, 2), (retry.Counters[0].Used, retry.Counters[1].Used)); // in the order of the checks
        Assert.Equal(3_500_000, retry.Counters[1].ResetAfterMs);
        Assert.Equal(0, (await limiter.PeekAsync(checks, CancellationToken.None)).Key().Used);
    }

    [Fact]
    public async Task TryAdmit_RequestIdHoldingSomethingElse_IsAnErrorNotADecision()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var checks = TestPlans.Joint(5, TimeSpan.FromHours(1)).ChecksFor("k", TestPlans.Ip(1));
        await _connection!.GetDatabase().StringSetAsync("{" + _prefix + "}:r:req-odd", "not a decision");

        // A RedisException is what the gateway's limiter treats as Redis being unavailable (its outage policy).
        var error = await Assert.ThrowsAsync<RedisException>(() => limiter.TryAdmitAsync(checks, "req-odd", CancellationToken.None).AsTask());

        Assert.Contains("is not 8 integers", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await limiter.PeekAsync(checks, CancellationToken.None)).Key().Used);
    }

    [Fact]
    public async Task TryAdmit_WithoutInjectedClock_UsesRedisTime_NeverRunningBackwards()
    {
        var limiter = Limiter();
        var plan = TestPlans.Joint(5, TimeSpan.FromHours(1));
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var result = await limiter.TryAdmitAsync(plan.ChecksFor("k", TestPlans.Ip(1)), Guid.NewGuid().ToString(), CancellationToken.None);
        Assert.InRange(result.TimestampMs, before - 5_000, before + 5_000);

        // Someone's clock ran ahead: the limiter's time never goes back below it.
        var ahead = result.TimestampMs + 60_000;
        await _connection!.GetDatabase().StringSetAsync("{" + _prefix + "}:clock", ahead);
        var later = await limiter.TryAdmitAsync(plan.ChecksFor("k", TestPlans.Ip(1)), Guid.NewGuid().ToString(), CancellationToken.None);
        Assert.Equal(ahead, later.TimestampMs);
    }

    [Fact]
    public async Task Keys_AllShareOneHashTag_AndAllExpire()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(5, TimeSpan.FromMinutes(10));
        await limiter.TryAdmitAsync(plan.ChecksFor("k", TestPlans.Ip(1)), "req-x", CancellationToken.None);

        var server = _connection!.GetServers()[0];
        var keys = server.Keys(pattern: "{" + _prefix + "}:*").ToList();

        Assert.Equal(4, keys.Count); // the clock, the request id, the key's log and the IP's log
        var database = _connection.GetDatabase();
        foreach (var key in keys)
        {
            Assert.StartsWith("{" + _prefix + "}:", key.ToString(), StringComparison.Ordinal);
            var ttl = await database.KeyTimeToLiveAsync(key);
            Assert.True(ttl is not null, $"{key} has no expiry");
        }
        var log = await database.KeyTimeToLiveAsync(limiter.KeyOf(plan.ChecksFor("k", TestPlans.Ip(1))[0].Counter));
        Assert.InRange(log!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        // The decision is remembered for a minute by default (about 210 B of Redis memory each), not for the window.
        var remembered = await database.KeyTimeToLiveAsync("{" + _prefix + "}:r:req-x");
        Assert.InRange(remembered!.Value, TimeSpan.FromSeconds(50), TimeSpan.FromMinutes(1));
        // The logs' names (a text subject, a numeric one) stay what they were, so an upgraded gateway keeps counting.
        foreach (var check in plan.ChecksFor("k", TestPlans.Ip(1)))
        {
            Assert.Equal("{" + _prefix + "}:c:" + check.Counter, limiter.KeyOf(check.Counter).ToString());
            Assert.Contains(limiter.KeyOf(check.Counter), keys);
        }
    }

    [Fact]
    public async Task ScriptFlush_ScriptIsReloadedTransparently()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(5, TimeSpan.FromHours(1));
        var checks = plan.ChecksFor("k", TestPlans.Ip(1));
        Assert.True((await limiter.TryAdmitAsync(checks, "a", CancellationToken.None)).Admitted);

        await _connection!.GetServers()[0].ScriptFlushAsync();

        var after = await limiter.TryAdmitAsync(checks, "b", CancellationToken.None);
        Assert.True(after.Admitted);
        Assert.Equal(2, after.Key().Used);
    }

    [Fact]
    public async Task Decisions_AreSentAsEvalsha()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(50, TimeSpan.FromHours(1));
        var server = _connection!.GetServers()[0];
        for (var i = 0; i < 3; i++)
        {
            await limiter.TryAdmitAsync(plan.ChecksFor("k", TestPlans.Ip(1)), "warm" + i, CancellationToken.None);
        }
        var before = await EvalshaCalls(server);

        for (var i = 0; i < 10; i++)
        {
            await limiter.TryAdmitAsync(plan.ChecksFor("k", TestPlans.Ip(1)), "e" + i, CancellationToken.None);
        }

        Assert.True(await EvalshaCalls(server) - before >= 10, "each decision should be one EVALSHA");
    }

    [Fact]
    public async Task Release_GivesBackTheRequestInEveryCounter()
    {
        var limiter = Limiter(new FakeTimeProvider(Start));
        var plan = TestPlans.Joint(1, TimeSpan.FromHours(1));
        var checks = plan.ChecksFor("k", TestPlans.Ip(1));
        var admitted = await limiter.TryAdmitAsync(checks, "a", CancellationToken.None);
        Assert.False((await limiter.TryAdmitAsync(checks, "b", CancellationToken.None)).Admitted);

        Assert.Equal(2, await limiter.ReleaseAsync(checks, admitted, CancellationToken.None));

        Assert.True((await limiter.TryAdmitAsync(checks, "c", CancellationToken.None)).Admitted);
    }

    private static async Task<long> EvalshaCalls(IServer server)
    {
        var info = await server.InfoAsync("commandstats");
        var line = info.SelectMany(g => g).FirstOrDefault(p => p.Key == "cmdstat_evalsha").Value;
        if (line is null)
        {
            return 0;
        }
        // "calls=12,usec=..."
        var calls = line.Split(',')[0].Split('=')[1];
        return long.Parse(calls, System.Globalization.CultureInfo.InvariantCulture);
    }
}
