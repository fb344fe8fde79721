using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Sluice.Benchmarks;

namespace Sluice.Bench.Load;

/// <summary>
/// Open-loop load: POSTs the chat completion of <c>bench/chat.lua</c> at a fixed rate (<see cref="OpenLoop"/>), over
/// up to <c>--connections</c> HTTP/1.1 connections, first for <c>--warmup</c> seconds (not counted), then for
/// <c>--seconds</c>. Latency is measured from each request's scheduled time to the end of its answer's body, so a
/// slow gateway cannot make the generator send less (no coordinated omission); the time from sending is shown too.
/// Prints a report and one machine-readable <c>RESULT</c> line; exits 1 if any answer was not 2xx or failed.
/// </summary>
public static class Program
{
    private const string DecisionHistogram = "sluice_limiter_decision_duration_seconds";

    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}],"max_tokens":16,"stream":false}""");

    public static async Task<int> Main(string[] args)
    {
        var options = LoadOptions.Parse(args, Console.Error);
        if (options is null)
        {
            Console.Error.WriteLine(LoadOptions.Usage);
            return 2;
        }
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Key);
        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        if (options.Warmup > 0)
        {
            // A third at a quarter of the rate, so that a freshly started (not yet compiled) gateway is not flooded
            // into timeouts, then the rest at the rate.
            foreach (var (rate, seconds) in new[] { (options.Rate / 4, options.Warmup / 3), (options.Rate, options.Warmup * 2 / 3) })
            {
                var warm = await RunAsync(client, options.Url, rate, seconds);
                if (warm.Bad > 0)
                {
                    Console.Error.WriteLine($"warm-up: {warm.Bad} non-2xx answers ({warm.FirstError}); is the key's limit reached?");
                    return 1;
                }
                if (warm.Failed > 0)
                {
                    Console.WriteLine($"   warm-up at {rate:F0} req/s: {warm.Failed} requests failed ({warm.FirstError})");
                }
            }
        }

        var metricsBefore = options.Metrics is null ? null : await ScrapeAsync(scraper, options.Metrics);
        var cpuBefore = Cpu(options);
        var run = await RunAsync(client, options.Url, options.Rate, options.Seconds);
        var cpuAfter = Cpu(options);
        var metricsAfter = options.Metrics is null ? null : await ScrapeAsync(scraper, options.Metrics);

        Report(options, run, cpuBefore, cpuAfter, metricsBefore is null ? null : metricsAfter!.Minus(metricsBefore));
        return run.Bad + run.Failed == 0 ? 0 : 1;
    }

    private static Task<OpenLoopRun> RunAsync(HttpClient client, Uri url, double rate, double seconds) =>
        OpenLoopRun.RunAsync(rate, seconds, async (_, run) =>
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(Body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                await response.Content.CopyToAsync(Stream.Null);
                return (int)response.StatusCode;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException)
            {
                run.Error(exception);
                return 0;
            }
        });

    private static async Task<PrometheusHistogram> ScrapeAsync(HttpClient scraper, Uri metrics) =>
        PrometheusHistogram.Parse(await scraper.GetStringAsync(metrics), DecisionHistogram, "backend");

    private static double[] Cpu(LoadOptions options)
    {
        var cpu = new double[options.Pids.Count + 2];
        for (var i = 0; i < options.Pids.Count; i++)
        {
            cpu[i] = ProcessCpu.Seconds(options.Pids[i].Pid);
        }
        cpu[^2] = Environment.CpuUsage.TotalTime.TotalSeconds;
        cpu[^1] = ProcessCpu.MachineBusySeconds();
        return cpu;
    }

    private static void Report(LoadOptions options, OpenLoopRun run, double[] cpuBefore, double[] cpuAfter, PrometheusHistogram? decisions)
    {
        var fromSchedule = new LatencySummary(run.FromSchedule);
        var fromSend = new LatencySummary(run.FromSend);
        var late = new LatencySummary(run.Late);
        // Sustained: the rate was served (99 %), every answer 2xx, and no backlog built up (p99 from schedule under 100 ms).
        var sustained = run.Achieved >= 0.99 * options.Rate && run.Bad + run.Failed == 0 && fromSchedule.Micros(99) < 100_000;
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(invariant,
            $"== {options.Label}: {options.Rate:N0} req/s scheduled for {options.Seconds:F0} s (warm-up {options.Warmup:F0} s not counted), open loop, up to {options.Connections} connections"));
        Console.WriteLine(string.Create(invariant,
            $"   sent {run.Count:N0}, 2xx {run.Count - run.Bad - run.Failed:N0}, non-2xx {run.Bad}, failed {run.Failed}{(run.FirstError is null ? "" : $" ({run.FirstError})")}; achieved {run.Achieved:N0} req/s ({(sustained ? "sustained" : "NOT sustained")}: >= 99% of the rate, all 2xx, p99 < 100 ms)"));
        Console.WriteLine($"   {"latency",-14} {LatencySummary.Header}");
        Console.WriteLine($"   {"from schedule",-14} {fromSchedule.Row()}");
        Console.WriteLine($"   {"from send",-14} {fromSend.Row()}");
        Console.WriteLine(string.Create(invariant,
            $"   pacer late p50 {late.Micros(50):F0} µs, p99 {late.Micros(99):F0} µs, max {late.MaxMicros:F0} µs; most requests in flight {run.MaxInFlight}"));
        var cpu = new StringBuilder("   CPU per request:");
        var result = new StringBuilder(string.Create(invariant,
            $"RESULT label={options.Label} rate={options.Rate:F0} sustained={(sustained ? 1 : 0)} seconds={options.Seconds:F0} sent={run.Count} non2xx={run.Bad} failed={run.Failed} achieved={run.Achieved:F1} p50_us={fromSchedule.Micros(50):F0} p90_us={fromSchedule.Micros(90):F0} p99_us={fromSchedule.Micros(99):F0} p999_us={fromSchedule.Micros(99.9):F0} max_us={fromSchedule.MaxMicros:F0} send_p50_us={fromSend.Micros(50):F0} send_p99_us={fromSend.Micros(99):F0} late_p99_us={late.Micros(99):F0}"));
        var accounted = 0.0;
        for (var i = 0; i < options.Pids.Count; i++)
        {
            var seconds = cpuAfter[i] - cpuBefore[i];
            accounted += seconds;
            cpu.Append(invariant, $" {options.Pids[i].Name} {seconds * 1e6 / run.Count:F1} µs,");
            result.Append(invariant, $" cpu_{options.Pids[i].Name}_us={seconds * 1e6 / run.Count:F1}");
        }
        var self = cpuAfter[^2] - cpuBefore[^2];
        var machine = cpuAfter[^1] - cpuBefore[^1];
        var other = machine - accounted - self;
        cpu.Append(invariant, $" load generator {self * 1e6 / run.Count:F1} µs; machine busy {machine:F1} CPU s, of which other work {other:F1} s");
        result.Append(invariant, $" cpu_load_us={self * 1e6 / run.Count:F1} busy_s={machine:F2} other_s={other:F2}");
        Console.WriteLine(cpu);
        if (decisions is not null)
        {
            foreach (var backend in decisions.Groups.Order(StringComparer.Ordinal))
            {
                var count = decisions.Count(backend);
                if (count == 0)
                {
                    continue;
                }
                var p50 = decisions.Quantile(backend, 0.50);
                var p99 = decisions.Quantile(backend, 0.99);
                Console.WriteLine(string.Create(invariant,
                    $"   {DecisionHistogram}{{backend=\"{backend}\"}} during the run: {count:N0} decisions; p50 in ({p50.Lower * 1e3:G4}, {p50.Upper * 1e3:G4}] ms (~{p50.Interpolated * 1e3:F3} ms), p99 in ({p99.Lower * 1e3:G4}, {p99.Upper * 1e3:G4}] ms (~{p99.Interpolated * 1e3:F3} ms interpolated)"));
                result.Append(invariant, $" decisions_{backend}={count:F0} decision_{backend}_p50_us={p50.Interpolated * 1e6:F0} decision_{backend}_p99_le_us={p99.Upper * 1e6:F0} decision_{backend}_p99_us={p99.Interpolated * 1e6:F0}");
            }
        }
        Console.WriteLine(result);
    }
}
