using BenchmarkDotNet.Running;

namespace Sluice.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Sluice.Benchmarks -- --filter '*'</c> runs the BenchmarkDotNet suite
/// (any BenchmarkDotNet arguments work: <c>--filter '*Million*'</c>, <c>--list flat</c>);
/// <c>-- --memory [--counters N]</c> prints the limiter's retained bytes per counter instead,
/// <c>-- --memory-latency</c> the machine's random memory access latency (context for the million-counter figures),
/// and <c>-- --redis [--rate N] [--seconds S]</c> decisions per second and one decision's latency against a real Redis.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--redis", StringComparer.Ordinal))
        {
            return RedisReport.RunAsync(args).GetAwaiter().GetResult();
        }
        if (args.Contains("--memory-latency", StringComparer.Ordinal))
        {
            return MemoryLatency.Run();
        }
        if (args.Contains("--memory", StringComparer.Ordinal))
        {
            return MemoryReport.Run(args);
        }
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchConfig.Create());
        return summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success)) ? 1 : 0;
    }
}
