using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Sluice.Core.Limits;
using StackExchange.Redis;

namespace Sluice.Storage.Redis;

/// <summary>
/// The joint limit on Redis: one Lua script per decision trims, checks and appends to every counter's log, or to
/// none. It is sent as EVALSHA by its SHA-1, computed once; after a <c>SCRIPT FLUSH</c>, or to a server that never
/// saw it, the NOSCRIPT reply makes it go once as EVAL, which loads it. Time is Redis <c>TIME</c>, clamped so it
/// never runs backwards; a request id makes a retried decision count once. All keys share one hash tag, so the
/// script never fails with CROSSSLOT on a cluster.
/// </summary>
public sealed partial class RedisRequestLimiter : IRequestLimiter
{
    private const int FixedArguments = 4;

    /// <summary>The script's SHA-1, as Redis names it (EVALSHA without hashing the text on every call).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Redis names scripts by SHA-1; this is an identifier, not security.")]
    private static readonly byte[] ScriptHash = SHA1.HashData(Encoding.UTF8.GetBytes(Script));

    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly string _counterPrefix;
    private readonly RedisKey _clockKey;
    private readonly string _requestTtl;
    private readonly TimeProvider? _clock;

    /// <param name="redis">The process's one multiplexed connection.</param>
    /// <param name="options">Key prefix and request id memory.</param>
    /// <param name="clock">Null in production (Redis TIME is the clock); tests pass a fake clock.</param>
    public RedisRequestLimiter(IConnectionMultiplexer redis, RedisLimiterOptions options, TimeProvider? clock = null)
    {
        _redis = redis;
        _prefix = "{" + options.KeyPrefix + "}:";
        _counterPrefix = _prefix + "c:";
        _clockKey = _prefix + "clock";
        _requestTtl = ((long)options.RequestIdTtl.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        _clock = clock;
    }

    public async ValueTask<AdmissionResult> TryAdmitAsync(ReadOnlyMemory<LimitCheck> checks, string requestId, CancellationToken cancellationToken)
    {
        var reply = await EvaluateAsync("a", checks, requestId, "");
        return Parse(reply, checks.Span);
    }

    public async ValueTask<AdmissionResult> PeekAsync(ReadOnlyMemory<LimitCheck> checks, CancellationToken cancellationToken)
    {
        var reply = await EvaluateAsync("p", checks, "", "");
        return Parse(reply, checks.Span);
    }

    public async ValueTask<int> ReleaseAsync(ReadOnlyMemory<LimitCheck> checks, AdmissionResult admitted, CancellationToken cancellationToken)
    {
        if (!admitted.Admitted)
        {
            return 0;
        }
        var reply = await EvaluateAsync("r", checks, "", admitted.TimestampMs.ToString(CultureInfo.InvariantCulture));
        return (int)(long)Integers(reply, 2)[0];
    }

    /// <summary>
    /// Loads the script on every server the connection knows (at start, so that the first decision does not pay the
    /// NOSCRIPT reply and a second round trip). Decisions still load it themselves after a flush or a restart.
    /// Returns on how many servers it was loaded: none when none is connected.
    /// </summary>
    public static async Task<int> LoadScriptAsync(IConnectionMultiplexer redis)
    {
        var connected = redis.GetServers().Where(server => server.IsConnected).ToArray();
        await Task.WhenAll(connected.Select(server => server.ScriptLoadAsync(Script)));
        return connected.Length;
    }

    /// <summary>The Redis key of a counter's log: the prefix, <c>c:</c> and <see cref="CounterKey.ToString"/>, made as one string.</summary>
    public RedisKey KeyOf(CounterKey counter) => counter.Text is not null
        ? string.Concat(_counterPrefix, counter.Scope, "|", counter.Text)
        : string.Create(CultureInfo.InvariantCulture, $"{_counterPrefix}{counter.Scope}|#{counter.Number:x}");

    private async Task<RedisResult[]> EvaluateAsync(string mode, ReadOnlyMemory<LimitCheck> memory, string requestId, string release)
    {
        var (keys, values) = Arguments(mode, memory.Span, requestId, release);
        var database = _redis.GetDatabase();
        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(ScriptHash, keys, values);
        }
        catch (RedisServerException noScript) when (noScript.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // The script did not run: Redis does not have it (SCRIPT FLUSH, a restart, a new server). EVAL loads it.
            result = await database.ScriptEvaluateAsync(Script, keys, values);
        }
        return (RedisResult[]?)result ?? [];
    }

    private (RedisKey[] Keys, RedisValue[] Values) Arguments(string mode, ReadOnlySpan<LimitCheck> checks, string requestId, string release)
    {
        var keys = new RedisKey[checks.Length + 2];
        var values = new RedisValue[FixedArguments + (3 * checks.Length)];
        keys[0] = _clockKey;
        keys[1] = requestId.Length == 0 ? _prefix + "r:-" : _prefix + "r:" + requestId;
        values[0] = mode;
        values[1] = _clock is null ? "" : _clock.GetUtcNow().ToUnixTimeMilliseconds();
        values[2] = _requestTtl;
        values[3] = release;
        for (var i = 0; i < checks.Length; i++)
        {
            keys[i + 2] = KeyOf(checks[i].Counter);
            var policy = checks[i].Policy;
            values[FixedArguments + (3 * i)] = policy.Limit;
            values[FixedArguments + (3 * i) + 1] = policy.WindowMs;
            values[FixedArguments + (3 * i) + 2] = policy.CalendarZone is null ? "" : policy.DayBoundaries((_clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds());
        }
        return (keys, values);
    }

    private static AdmissionResult Parse(RedisResult[] reply, ReadOnlySpan<LimitCheck> checks)
    {
        Integers(reply, 2 + (3 * checks.Length));
        var states = new CounterState[checks.Length];
        for (var i = 0; i < checks.Length; i++)
        {
            var at = 2 + (3 * i);
            states[i] = new CounterState(checks[i].Policy, (int)(long)reply[at], (long)reply[at + 1], (long)reply[at + 2]);
        }
        return new AdmissionResult((long)reply[0] == 1, states, (long)reply[1]);
    }

    /// <summary>Checks that the script replied with <paramref name="count"/> integers. A reply of another shape (a
    /// value under a request id that this limiter did not write, a script of another version) is a Redis error, for
    /// which the gateway's outage policy applies, not a decision and not a crash.</summary>
    private static RedisResult[] Integers(RedisResult[] reply, int count)
    {
        if (reply.Length != count || Array.Exists(reply, static value => value.Resp2Type != ResultType.Integer))
        {
            throw new RedisException($"The limiter script's reply is not {count} integers.");
        }
        return reply;
    }
}
