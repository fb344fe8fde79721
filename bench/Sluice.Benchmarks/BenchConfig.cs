using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;

namespace Sluice.Benchmarks;

/// <summary>
/// One modest job, so that the whole suite runs in a few minutes on 2 cores: one launch, 3 warm-up and
/// 10 measured iterations of about 250 ms each (BenchmarkDotNet's default is 15+ iterations of 500 ms, and
/// more launches). Server and concurrent GC, as the <c>sluice</c> executable runs.
/// </summary>
public static class BenchConfig
{
    public static IConfig Create()
    {
        var job = Job.Default
            .WithId("Sluice")
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(250))
            .WithGcServer(true)
            .WithGcConcurrent(true);
        return ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(job)
            .AddColumn(StatisticColumn.Median, StatisticColumn.P95)
            .WithArtifactsPath(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "BenchmarkDotNet.Artifacts")));
    }
}
