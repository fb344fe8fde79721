using System.Globalization;
using StackExchange.Redis;

namespace Sluice.Benchmarks;

/// <summary>What Redis itself says: version, process id, time spent inside the limiter's script, clients.</summary>
public sealed class RedisStats
{
    private const int SlowMicros = 1_000;

    private readonly IServer _server;

    public RedisStats(IServer server) => _server = server;

    public string Version { get; private set; } = "?";

    public int ProcessId { get; private set; }

    public async Task LoadAsync()
    {
        var info = (await _server.InfoAsync("server")).SelectMany(group => group).ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
        Version = info.GetValueOrDefault("redis_version", "?");
        ProcessId = int.Parse(info.GetValueOrDefault("process_id", "0"), CultureInfo.InvariantCulture);
        // Every command that takes over 1 ms inside Redis goes to the slow log, to tell Redis's own tail from the client's.
        await _server.ConfigSetAsync("slowlog-log-slower-than", SlowMicros);
        await _server.ConfigSetAsync("slowlog-max-len", 100_000);
    }

    /// <summary>CPU seconds of redis-server so far (NaN when it is not a process on this machine).</summary>
    public double CpuSeconds() => ProcessId > 0 ? ProcessCpu.Seconds(ProcessId) : double.NaN;

    /// <summary><c>CONFIG RESETSTAT</c> and <c>SLOWLOG RESET</c>: command statistics start again from zero.</summary>
    public async Task ResetAsync()
    {
        await _server.ConfigResetStatisticsAsync();
        await _server.SlowlogResetAsync();
    }

    /// <summary>
    /// Since the last reset: microseconds per EVAL/EVALSHA inside Redis (INFO commandstats), and how many of them
    /// took over 1 ms inside Redis (SLOWLOG).
    /// </summary>
    public async Task<(double MicrosPerCall, int Slow)> ScriptAsync()
    {
        var slow = (await _server.SlowlogGetAsync(100_000)).Count(trace => trace.Arguments.Length > 0 && ((string?)trace.Arguments[0])?.StartsWith("EVAL", StringComparison.OrdinalIgnoreCase) == true);
        long calls = 0;
        long micros = 0;
        foreach (var pair in (await _server.InfoAsync("commandstats")).SelectMany(group => group))
        {
            if (pair.Key is not ("cmdstat_eval" or "cmdstat_evalsha"))
            {
                continue;
            }
            foreach (var field in pair.Value.Split(','))
            {
                var (name, value) = (field[..field.IndexOf('=', StringComparison.Ordinal)], field[(field.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                if (name == "calls")
                {
                    calls += long.Parse(value, CultureInfo.InvariantCulture);
                }
                else if (name == "usec")
                {
                    micros += long.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }
        return (calls == 0 ? double.NaN : (double)micros / calls, slow);
    }

    /// <summary>Every client connection, one line each: id, address, name, age, idle, subscriptions, last command.</summary>
    public async Task<ClientInfo[]> ClientsAsync() => await _server.ClientListAsync();
}
