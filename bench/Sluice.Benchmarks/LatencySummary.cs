using System.Diagnostics;
using System.Globalization;

namespace Sluice.Benchmarks;

/// <summary>Exact percentiles (nearest rank) of latencies held as <see cref="Stopwatch"/> ticks, shown in µs.</summary>
public sealed class LatencySummary
{
    private readonly long[] _sorted;

    public LatencySummary(ReadOnlySpan<long> ticks)
    {
        _sorted = ticks.ToArray();
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    /// <summary>The <paramref name="percent"/>-th percentile in microseconds (nearest rank).</summary>
    public double Micros(double percent)
    {
        if (_sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(percent / 100 * _sorted.Length);
        return ToMicros(_sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)]);
    }

    public double MaxMicros => _sorted.Length == 0 ? double.NaN : ToMicros(_sorted[^1]);

    public double MeanMicros
    {
        get
        {
            double sum = 0;
            foreach (var each in _sorted)
            {
                sum += each;
            }
            return _sorted.Length == 0 ? double.NaN : ToMicros((long)(sum / _sorted.Length));
        }
    }

    /// <summary>"p50 p90 p99 p99.9 max" in µs, fixed width.</summary>
    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"{Micros(50),9:F0} {Micros(90),9:F0} {Micros(99),9:F0} {Micros(99.9),9:F0} {MaxMicros,9:F0}");

    public static string Header => $"{"p50 µs",9} {"p90 µs",9} {"p99 µs",9} {"p99.9 µs",9} {"max µs",9}";

    public static double ToMicros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
}
