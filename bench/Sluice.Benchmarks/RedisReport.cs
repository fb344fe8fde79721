using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sluice.Core.Limits;
using Sluice.Gateway.Limiting;
using Sluice.Storage.Redis;
using StackExchange.Redis;

namespace Sluice.Benchmarks;

/// <summary>
/// <c>--redis [--server HOST:PORT] [--rate 5000] [--seconds 15] [--step-seconds 5] [--concurrency 1,8,32,128]</c>:
/// admission decisions against a real Redis on loopback, through the production <see cref="RedisRequestLimiter"/>
/// over the multiplexer the gateway builds (<c>AddSluiceLimiter</c>: one <see cref="IConnectionMultiplexer"/> per
/// process). Without <c>--server</c> it starts its own <c>redis-server</c> on a free 127.0.0.1 port and stops it
/// at the end. Three parts:
/// <list type="number">
/// <item>Decisions per second, closed loop: N callers each awaiting one decision after another for
/// <c>--step-seconds</c> (after 1 s not counted), each caller on its own key and IP; then all callers on one key
/// and one IP.</item>
/// <item>Latency of one decision at a fixed rate (<c>--rate</c> per second for <c>--seconds</c>, after 2 s not
/// counted), open loop (<see cref="OpenLoop"/>): from the call to its answer, and from the scheduled time.
/// Over 10,000 keys and IPs in turn, over one key and IP, and through the gateway's
/// <c>ResilientRequestLimiter</c> (Polly timeout and circuit breaker, decision metrics) as <c>serve --redis</c>
/// uses it.</item>
/// <item>The process's connections to Redis (<c>CLIENT LIST</c>), and a check that every decision on the
/// one key was counted.</item>
/// </list>
/// Each row also shows Redis's own time per script call (<c>INFO commandstats</c>) and how many calls took over
/// 1 ms inside Redis (the report sets <c>slowlog-log-slower-than 1000</c> and resets the statistics and the slow
/// log before each row, also on a server given with <c>--server</c>).
/// The plan is the default joint rule (per key and per IP, 24 h) with a limit that is never reached, as in
/// <c>bench/load.sh</c>, so every decision admits and appends to two lists. Target: p99 of one decision at most
/// 1 ms at 5,000 decisions per second.
/// </summary>
public static class RedisReport
{
    private const double TargetP99Micros = 1_000;
    private const int Pool = 10_000;
    private const string Usage = "usage: Sluice.Benchmarks --redis [--server HOST:PORT] [--rate N] [--seconds S] [--step-seconds S] [--concurrency 1,8,32,128]";

    public static async Task<int> RunAsync(string[] args)
    {
        var server = Option(args, "--server");
        if (!TryNumber(args, "--rate", 5_000, out var rate) || !TryNumber(args, "--seconds", 15, out var seconds)
            || !TryNumber(args, "--step-seconds", 5, out var stepSeconds) || !TryConcurrency(args, out var concurrency))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var own = server is null ? RedisServerProcess.Start() : null;
        var endpoint = server ?? own!.Endpoint;
        var prefix = "bench-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sluice:Redis:Configuration"] = endpoint,
            ["Sluice:Redis:KeyPrefix"] = prefix,
        }).Build();
        await using var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(TimeProvider.System)
            .AddLogging()
            .AddMetrics()
            .AddSluiceLimiter()
            .BuildServiceProvider();
        var multiplexer = provider.GetRequiredService<IConnectionMultiplexer>();
        var limiter = new RedisRequestLimiter(multiplexer, provider.GetRequiredService<IOptions<RedisLimiterOptions>>().Value);
        var gatewayLimiter = provider.GetRequiredService<IRequestLimiter>();

        // A second connection for CONFIG RESETSTAT, INFO and CLIENT LIST only (named bench-admin, no pub/sub),
        // so that the limiter's own connection carries nothing but decisions.
        var adminOptions = ConfigurationOptions.Parse(endpoint);
        adminOptions.AllowAdmin = true;
        adminOptions.ClientName = "bench-admin";
        adminOptions.CommandMap = CommandMap.Create(new HashSet<string> { "SUBSCRIBE" }, available: false);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(adminOptions);
        var redis = new RedisStats(admin.GetServer(admin.GetEndPoints()[0]));
        await redis.LoadAsync();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Redis limiter: redis-server {redis.Version} at {endpoint} ({(own is null ? "given" : "started here, --save '' --appendonly no")}, pid {redis.ProcessId}), key prefix {{{prefix}}}."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Runtime {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}, {Environment.ProcessorCount} processors; load average {ProcessCpu.LoadAverage()}; machine busy while idle here: {IdleBusyPercent():F0}% of {Environment.ProcessorCount} cores."));
        Console.WriteLine("Plan: per key and per IP (KeyAndIp), 1,000,000,000 per 24 h (never reached: every decision admits, appending to two lists).");

        var plan = Subjects.JointPlan(1_000_000_000);
        var random = new Random(5);
        var pool = new LimitCheck[Pool][];
        for (var i = 0; i < Pool; i++)
        {
            pool[i] = plan.ChecksFor(Subjects.KeyId(random), Subjects.Ipv4Group(i));
        }
        var one = plan.ChecksFor(Subjects.KeyId(random), Subjects.Ipv4Group(Pool + 1));
        var bench = new RedisDecisionRuns(redis, one);

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"1. Decisions per second, closed loop: N callers, each awaiting one decision after another, {stepSeconds:F0} s (after 1 s not counted)."));
        Console.WriteLine($"{"callers",7} {"subjects",-22} {"decisions/s",11} {LatencySummary.Header} {"client CPU",11} {"redis CPU",10} {"in script",10} {"> 1 ms",8} {"other s",7}");
        foreach (var callers in concurrency)
        {
            await bench.ClosedAsync(limiter, callers, $"own key and IP each", c => pool[c], stepSeconds);
        }
        await bench.ClosedAsync(limiter, concurrency.Max(), "all on one key and IP", _ => one, stepSeconds);
        Console.WriteLine("(latency = one decision as its caller saw it; CPU = per decision, of this process / of redis-server; in script = Redis's own mean time per");
        Console.WriteLine(" EVALSHA (INFO commandstats); > 1 ms = EVALSHAs that took over 1 ms inside Redis (SLOWLOG); other s = CPU seconds used");
        Console.WriteLine(" meanwhile by anything else on the machine)");

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"2. One decision at a fixed rate: {rate:N0} decisions/s for {seconds:F0} s (after 2 s not counted), open loop."));
        Console.WriteLine($"{"limiter",-24} {"subjects",-15} {"achieved/s",10} {"latency",-14} {LatencySummary.Header} {"in flight",9} {"client CPU",11} {"redis CPU",10} {"in script",10} {"> 1 ms",8} {"other s",7}");
        RedisDecisionRuns.PacerAlone(rate, Math.Min(seconds, 5));
        var results = new List<(string Name, LatencySummary Decision)>
        {
            ("RedisRequestLimiter, 10,000 keys", await bench.FixedRateAsync(limiter, "RedisRequestLimiter", "10,000 in turn", i => pool[i % Pool], rate, seconds)),
            ("RedisRequestLimiter, one key", await bench.FixedRateAsync(limiter, "RedisRequestLimiter", "one key and IP", _ => one, rate, seconds)),
            ("gateway's limiter, 10,000 keys", await bench.FixedRateAsync(gatewayLimiter, "ResilientRequestLimiter", "10,000 in turn", i => pool[i % Pool], rate, seconds)),
        };
        Console.WriteLine("(decision = from the call to the answer; from schedule = from the time the call was due, so any delay of the pacer");
        Console.WriteLine(" thread on a busy machine counts too; pacer late = how late calls started; in flight = most decisions outstanding at once)");

        Console.WriteLine();
        Console.WriteLine("3. Connections to Redis (CLIENT LIST; 'sluice' is the limiter's multiplexer, 'bench-admin' this report's INFO/CONFIG connection):");
        var clients = await redis.ClientsAsync();
        foreach (var client in clients)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   id={client.Id} addr={client.Address} name={client.Name} age={client.AgeSeconds}s idle={client.IdleSeconds}s sub={client.SubscriptionCount} cmd={client.LastCommand}"));
        }
        var limiterConnections = clients.Count(c => c.Name == "sluice");
        var carrying = clients.Count(c => c.Name == "sluice" && c.SubscriptionCount == 0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   the limiter's multiplexer: {limiterConnections} TCP connection(s) to Redis, {carrying} carrying commands (every decision above, from up to {concurrency.Max()} callers at once)."));
        var peek = await limiter.PeekAsync(one, CancellationToken.None);
        var counted = peek.Counters.All(c => c.Used == bench.OnOneKey);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   decisions on the one key and IP: {bench.OnOneKey:N0} made, counted by Redis: key {peek.Counters[0].Used:N0}, IP {peek.Counters[1].Used:N0} -- {(counted ? "exact" : "MISMATCH")}."));

        Console.WriteLine();
        var met = results.All(r => r.Decision.Micros(99) <= TargetP99Micros);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Target: one Redis decision <= 1 ms at p99 at {rate:N0}/s: {(met ? "MET" : "MISSED")} ({string.Join("; ", results.Select(r => $"{r.Name} p99 {r.Decision.Micros(99) / 1000:F3} ms"))})."));
        Console.WriteLine($"Load average now {ProcessCpu.LoadAverage()}.");
        return met && counted ? 0 : 1;
    }

    private static double IdleBusyPercent()
    {
        var before = ProcessCpu.MachineBusySeconds();
        Thread.Sleep(2_000);
        return 100 * (ProcessCpu.MachineBusySeconds() - before) / 2 / Environment.ProcessorCount;
    }

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static bool TryNumber(string[] args, string name, double fallback, out double value)
    {
        value = fallback;
        var text = Option(args, name);
        if (text is null)
        {
            return Array.IndexOf(args, name) < 0;
        }
        return double.TryParse(text, CultureInfo.InvariantCulture, out value) && value > 0;
    }

    private static bool TryConcurrency(string[] args, out int[] concurrency)
    {
        concurrency = [1, 8, 32, 128];
        var text = Option(args, "--concurrency");
        if (text is null)
        {
            return Array.IndexOf(args, "--concurrency") < 0;
        }
        var parsed = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part, CultureInfo.InvariantCulture, out var n) || n <= 0)
            {
                return false;
            }
            parsed.Add(n);
        }
        concurrency = [.. parsed];
        return parsed.Count > 0;
    }
}
