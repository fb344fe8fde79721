using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Sluice.Testing.Servers;

/// <summary>
/// A real <c>redis-server</c> (Debian's package), <c>valkey-server</c> (Debian's, from backports on bookworm) or
/// Microsoft's Garnet (the <c>garnet-server</c> .NET tool, with Lua scripts run as transactions), all installed by
/// <c>scripts/install-test-servers</c>, on a free loopback port,
/// without persistence. It can be stopped and started again on the same port for fault tests.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>Where <c>scripts/install-test-servers</c> puts Garnet (<c>dotnet tool install --tool-path</c>).</summary>
    public const string GarnetToolPath = "/opt/sluice-test-servers/garnet";

    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static readonly Dictionary<RedisEngine, RedisServer> s_shared = [];

    private readonly string _directory;
    private readonly bool _clusterMember;
    private readonly (string Certificate, string Key)? _tls;
    private Process? _process;

    private RedisServer(int port, RedisEngine engine, bool clusterMember = false, string? password = null, (string Certificate, string Key)? tls = null)
    {
        Port = port;
        Engine = engine;
        Password = password;
        _tls = tls;
        _clusterMember = clusterMember;
        ClusterBusPort = engine == RedisEngine.RedisCluster ? FreePort() : 0;
        _directory = Path.Combine(Path.GetTempPath(), "sluice-redis-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_directory);
    }

    public int Port { get; }

    public RedisEngine Engine { get; }

    /// <summary>The cluster bus's port in cluster mode (0 otherwise).</summary>
    internal int ClusterBusPort { get; }

    /// <summary>What a client must send with AUTH (<c>requirepass</c>), or null for none.</summary>
    public string? Password { get; }

    /// <summary>A StackExchange.Redis connection string for this server (with its password, if it has one).</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false" + (Password is null ? "" : $",password={Password}") + (_tls is null ? "" : ",ssl=true");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>One server per engine shared by the tests of a run; tests keep apart by key prefix. Never stopped by tests.</summary>
    public static async Task<RedisServer> SharedAsync(RedisEngine engine = RedisEngine.Redis)
    {
        await SharedGate.WaitAsync();
        try
        {
            if (!s_shared.TryGetValue(engine, out var shared))
            {
                shared = await StartAsync(engine);
                s_shared[engine] = shared;
                // The test host exits without disposing shared fixtures: take the server down with it.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => shared._process?.Kill();
            }
            return shared;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>A server of the test's own, for tests that stop and start it, or that need a password or TLS (PEM
    /// files of its certificate and private key; clients must then use TLS) (<c>redis-server</c> only).</summary>
    public static async Task<RedisServer> StartAsync(RedisEngine engine = RedisEngine.Redis, string? password = null, (string Certificate, string Key)? tls = null)
    {
        var server = new RedisServer(FreePort(), engine, password: password, tls: tls);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>A cluster-mode node that holds no slots yet: <see cref="RedisCluster"/> assigns them and joins it to
    /// the others.</summary>
    internal static async Task<RedisServer> StartClusterMemberAsync()
    {
        var server = new RedisServer(FreePort(), RedisEngine.RedisCluster, clusterMember: true);
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Engine switch
        {
            RedisEngine.Garnet => GarnetExecutable(),
            RedisEngine.Valkey => Executable("valkey-server"),
            _ => Executable("redis-server"),
        })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Garnet runs a Lua script without locking its keys unless told to; the limiter's script must be atomic.
        string[] arguments = Engine == RedisEngine.Garnet
            ? ["--port", port, "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--memory", "64m", "--index", "16m"]
            : ["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--protected-mode", "no"];
        if (Password is not null)
        {
            arguments = [.. arguments, "--requirepass", Password];
        }
        if (_tls is { } tls)
        {
            // TLS only, on the server's one port; clients are not asked for a certificate.
            arguments = [.. arguments, "--port", "0", "--tls-port", port, "--tls-cert-file", tls.Certificate, "--tls-key-file", tls.Key, "--tls-auth-clients", "no"];
        }
        if (Engine == RedisEngine.RedisCluster)
        {
            // Announced as 127.0.0.1: a lone node otherwise lists itself without an address, and clients wait for one.
            // The cluster bus gets its own free port: by default it is the port + 10,000, and redis-server refuses to
            // start when that passes 65,535 (a free port above 55,535, about one start in five here).
            arguments = [.. arguments, "--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(_directory, "nodes.conf"), "--cluster-announce-ip", "127.0.0.1",
                "--cluster-port", ClusterBusPort.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        }
        foreach (var arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Engine}.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Engine} exited with {_process.ExitCode} (port {Port}).");
            }
            try
            {
                using (var client = new TcpClient())
                {
                    await client.ConnectAsync(IPAddress.Loopback, Port);
                }
                if (Engine == RedisEngine.RedisCluster && !_clusterMember)
                {
                    await TakeAllSlotsAsync(deadline);
                }
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"{Engine} did not listen on {Port}.");
    }

    /// <summary>
    /// Makes the node a whole cluster on its own: every hash slot assigned to it (kept in its nodes.conf across a
    /// restart). Cluster mode refuses a script whose keys are in different slots (CROSSSLOT) even on one node.
    /// </summary>
    private async Task TakeAllSlotsAsync(DateTime deadline)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, Port);
        await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endpoint }, AllowAdmin = true, Password = Password });
        var node = admin.GetServer(endpoint);
        if (((string?)await node.ExecuteAsync("CLUSTER", "INFO"))!.Contains("cluster_slots_assigned:0", StringComparison.Ordinal))
        {
            await node.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", 0, 16383);
        }
        while (!((string?)await node.ExecuteAsync("CLUSTER", "INFO"))!.Contains("cluster_state:ok", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The one-node Redis cluster did not reach cluster_state:ok.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Freezes the server (SIGSTOP): its connections stay open and nothing is answered, as with a host that
    /// hangs or a network that drops packets. <see cref="Resume"/> lets it go on.</summary>
    public void Pause() => Signal(Signals.Stop);

    public void Resume() => Signal(Signals.Cont);

    private void Signal(int signal) =>
        Signals.Send(_process is { HasExited: false } running ? running : throw new InvalidOperationException($"{Engine} is not running."), signal);

    /// <summary>Kills the server (as a crash or an outage would).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left behind in /tmp: harmless.
        }
    }

    private static string Executable(string name)
    {
        foreach (var folder in new[] { "/usr/bin", "/usr/local/bin" })
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"{name} is not installed: run scripts/install-test-servers (apt-get install {name}).");
    }

    private static string GarnetExecutable()
    {
        var candidate = Path.Combine(GarnetToolPath, "garnet-server");
        return File.Exists(candidate)
            ? candidate
            : throw new InvalidOperationException($"garnet-server is not installed: run scripts/install-test-servers (dotnet tool install garnet-server --tool-path {GarnetToolPath}).");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Which server speaks the Redis protocol in a test.</summary>
public enum RedisEngine
{
    Redis,
    Garnet,
    Valkey,

    /// <summary><c>redis-server</c> in cluster mode, one node holding every slot.</summary>
    RedisCluster,
}
