using System.Globalization;

namespace Sluice.Bench.Load;

/// <summary>The command line: <c>--url URL --key KEY [--rate N] [--seconds S] [--warmup S] [--connections N]
/// [--metrics URL] [--pids name=pid,...] [--label NAME]</c>.</summary>
public sealed class LoadOptions
{
    public const string Usage =
        "usage: Sluice.Bench.Load --url URL --key KEY [--rate 5000] [--seconds 20] [--warmup 5] [--connections 256] [--metrics URL] [--pids name=pid,...] [--label NAME]";

    public required Uri Url { get; init; }

    public required string Key { get; init; }

    public double Rate { get; init; } = 5_000;

    public double Seconds { get; init; } = 20;

    public double Warmup { get; init; } = 5;

    public int Connections { get; init; } = 256;

    /// <summary>Sluice's Prometheus endpoint: read before and after the measured run for the decision histogram.</summary>
    public Uri? Metrics { get; init; }

    /// <summary>Processes whose CPU time per request is reported (utime + stime from /proc).</summary>
    public IReadOnlyList<(string Name, int Pid)> Pids { get; init; } = [];

    public string Label { get; init; } = "target";

    public static LoadOptions? Parse(string[] args, TextWriter errors)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                errors.WriteLine($"unexpected argument '{args[i]}'");
                return null;
            }
            values[args[i]] = args[++i];
        }
        if (!values.TryGetValue("--url", out var url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || !values.TryGetValue("--key", out var key))
        {
            errors.WriteLine("--url and --key are required");
            return null;
        }
        var pids = new List<(string, int)>();
        foreach (var pair in values.GetValueOrDefault("--pids", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid))
            {
                errors.WriteLine($"--pids: '{pair}' is not name=pid");
                return null;
            }
            pids.Add((parts[0], pid));
        }
        try
        {
            return new LoadOptions
            {
                Url = uri,
                Key = key,
                Rate = Number(values, "--rate", 5_000),
                Seconds = Number(values, "--seconds", 20),
                Warmup = Number(values, "--warmup", 5),
                Connections = (int)Number(values, "--connections", 256),
                Metrics = values.TryGetValue("--metrics", out var metrics) ? new Uri(metrics) : null,
                Pids = pids,
                Label = values.GetValueOrDefault("--label", "target"),
            };
        }
        catch (FormatException exception)
        {
            errors.WriteLine(exception.Message);
            return null;
        }
    }

    private static double Number(Dictionary<string, string> values, string name, double fallback)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }
        return double.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new FormatException($"{name}: '{text}' is not a non-negative number");
    }
}
