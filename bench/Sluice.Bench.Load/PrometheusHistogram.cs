using System.Globalization;
using System.Text.RegularExpressions;

namespace Sluice.Bench.Load;

/// <summary>
/// The cumulative buckets of one Prometheus histogram, per value of one label, read from the text exposition
/// (e.g. <c>sluice_limiter_decision_duration_seconds_bucket{backend="redis",le="0.001"} 123</c>).
/// </summary>
public sealed partial class PrometheusHistogram
{
    private readonly Dictionary<string, SortedDictionary<double, double>> _buckets;

    private PrometheusHistogram(Dictionary<string, SortedDictionary<double, double>> buckets) => _buckets = buckets;

    public IEnumerable<string> Groups => _buckets.Keys;

    public static PrometheusHistogram Parse(string exposition, string name, string label)
    {
        var buckets = new Dictionary<string, SortedDictionary<double, double>>(StringComparer.Ordinal);
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(name + "_bucket{", StringComparison.Ordinal))
            {
                continue;
            }
            var close = line.LastIndexOf('}');
            string? group = null;
            double? le = null;
            foreach (Match match in LabelPattern().Matches(line[..close]))
            {
                if (match.Groups[1].Value == label)
                {
                    group = match.Groups[2].Value;
                }
                else if (match.Groups[1].Value == "le")
                {
                    le = match.Groups[2].Value == "+Inf" ? double.PositiveInfinity : double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                }
            }
            if (group is null || le is null)
            {
                continue;
            }
            var count = double.Parse(line[(close + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            if (!buckets.TryGetValue(group, out var series))
            {
                buckets[group] = series = [];
            }
            series[le.Value] = count;
        }
        return new PrometheusHistogram(buckets);
    }

    /// <summary>What was observed between <paramref name="before"/> and this reading.</summary>
    public PrometheusHistogram Minus(PrometheusHistogram before)
    {
        var delta = new Dictionary<string, SortedDictionary<double, double>>(StringComparer.Ordinal);
        foreach (var (group, series) in _buckets)
        {
            var earlier = before._buckets.GetValueOrDefault(group);
            var result = new SortedDictionary<double, double>();
            foreach (var (le, count) in series)
            {
                result[le] = count - (earlier?.GetValueOrDefault(le) ?? 0);
            }
            delta[group] = result;
        }
        return new PrometheusHistogram(delta);
    }

    public double Count(string group) => _buckets.TryGetValue(group, out var series) && series.Count > 0 ? series.Values.Last() : 0;

    /// <summary>
    /// The bucket holding the <paramref name="quantile"/> (its bounds, in the histogram's unit) and a linear
    /// interpolation inside it, as Prometheus' <c>histogram_quantile</c> does.
    /// </summary>
    public (double Lower, double Upper, double Interpolated) Quantile(string group, double quantile)
    {
        var series = _buckets[group];
        var total = series.Values.Last();
        var rank = quantile * total;
        double lower = 0;
        double below = 0;
        foreach (var (le, count) in series)
        {
            if (count >= rank && count > below)
            {
                var interpolated = double.IsPositiveInfinity(le) ? lower : lower + ((le - lower) * (rank - below) / (count - below));
                return (lower, le, interpolated);
            }
            lower = le;
            below = count;
        }
        return (lower, double.PositiveInfinity, lower);
    }

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"")]
    private static partial Regex LabelPattern();
}
