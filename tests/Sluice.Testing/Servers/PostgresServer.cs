using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Sluice.Testing.Servers;

/// <summary>
/// A real PostgreSQL server (Debian's package: <c>/usr/lib/postgresql/*/bin</c>; <c>scripts/install-test-servers</c>
/// installs it) in a temporary directory, on a free loopback port, trusting local connections, tuned for tests (no
/// fsync). initdb refuses to run as root, so as root the server runs as the <c>postgres</c> OS user. Tests keep apart
/// by database: <see cref="CreateDatabaseAsync"/> makes a fresh one per test. A server can be stopped and started
/// again on the same port and data for fault tests.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string OsUser = "postgres";
    private const string DirectoryPrefix = "sluice-pg-";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static readonly List<PostgresServer> Running = [];
    private static PostgresServer? s_shared;

    private readonly string _directory;
    private readonly StringBuilder _log = new();
    private Process? _process;

    static PostgresServer()
    {
        // The test host exits without disposing shared fixtures: take every server still running down with it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            PostgresServer[] servers;
            lock (Running)
            {
                servers = [.. Running];
            }
            foreach (var server in servers)
            {
                server.StopNow();
                server.DeleteDirectory();
            }
        };
    }

    private PostgresServer(int port)
    {
        Port = port;
        _directory = Path.Combine(Path.GetTempPath(), DirectoryPrefix + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_directory);
    }

    public int Port { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The server's log so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private string DataDirectory => Path.Combine(_directory, "data");

    private static bool AsRoot => Environment.IsPrivilegedProcess;

    /// <summary>An Npgsql connection string for <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database}";

    /// <summary>One server shared by the tests of a run; tests keep apart by database. Never stopped by tests.</summary>
    public static async Task<PostgresServer> SharedAsync()
    {
        await SharedGate.WaitAsync();
        try
        {
            s_shared ??= await StartAsync();
            return s_shared;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>A server of the test's own, for tests that stop and start it.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        SweepLeftovers();
        var server = new PostgresServer(FreePort());
        try
        {
            await server.InitAsync();
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new, empty database of the caller's own; dropped when the result is disposed.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync($"CREATE DATABASE {name}");
        return new TestDatabase(this, name, ConnectionString(name));
    }

    /// <summary>Runs one statement as the superuser in the <c>postgres</c> database.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Starts the server (again) on the same port and data, and waits until it accepts queries.</summary>
    public async Task StartAgainAsync()
    {
        var process = Launch(Binary("postgres"), "-D", DataDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture), "-k", _directory,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=400", "-c", "shared_buffers=32MB", "-c", "logging_collector=off");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        lock (Running)
        {
            Running.Add(this);
        }

        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with {process.ExitCode} (port {Port}): {Log}");
            }
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=2");
                await connection.OpenAsync();
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException && DateTime.UtcNow < deadline)
            {
                // Not listening yet, or "the database system is starting up".
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops the server as an operator's <c>systemctl stop</c> does (fast shutdown: clients are disconnected).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            Signal(process.Id, "INT");
            using var timeout = new CancellationTokenSource(Patience);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
        Forget();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        DeleteDirectory();
    }

    private async Task InitAsync()
    {
        if (AsRoot)
        {
            await RunToEndAsync(Launch("chown", [OsUser + ":" + OsUser, _directory], asServer: false));
        }
        await RunToEndAsync(Launch(Binary("initdb"), "-D", DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"));
    }

    /// <summary>Starts a program; as root, server programs run as the postgres user (setpriv execs, so the process
    /// is the program itself and a signal reaches it).</summary>
    private static Process Launch(string program, params string[] args) => Launch(program, args, asServer: true);

    private static Process Launch(string program, string[] args, bool asServer)
    {
        var start = new ProcessStartInfo(asServer && AsRoot ? "setpriv" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asServer && AsRoot)
        {
            foreach (var arg in new[] { "--reuid=" + OsUser, "--regid=" + OsUser, "--init-groups", "--", program })
            {
                start.ArgumentList.Add(arg);
            }
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["LC_ALL"] = "C";
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
    }

    private static async Task RunToEndAsync(Process process)
    {
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(Patience);
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{process.StartInfo.FileName} {string.Join(' ', process.StartInfo.ArgumentList)} exited with {process.ExitCode}: {await errors}{await output}");
            }
        }
    }

    private static string Binary(string name)
    {
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Where(d => File.Exists(Path.Combine(d, "bin", name)))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).ToList()
            : [];
        return versions.Count > 0
            ? Path.Combine(versions[0], "bin", name)
            : throw new InvalidOperationException("PostgreSQL is not installed: run scripts/install-test-servers (apt-get install postgresql).");
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false });
        kill?.WaitForExit(5_000);
    }

    /// <summary>At process exit: immediate shutdown, then kill if it lingers.</summary>
    private void StopNow()
    {
        if (_process is { HasExited: false } process)
        {
            Signal(process.Id, "QUIT");
            if (!process.WaitForExit(5_000))
            {
                process.Kill();
            }
        }
        Forget();
    }

    private void Forget()
    {
        _process?.Dispose();
        _process = null;
        lock (Running)
        {
            Running.Remove(this);
        }
    }

    /// <summary>The test host may be killed before its exit handler has deleted a server's directory (about 20 MB):
    /// remove those of earlier runs, recognisable by their age and by having no running server.</summary>
    private static void SweepLeftovers()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            if (Path.GetFileName(directory).Length == DirectoryPrefix.Length + 10
                && Directory.GetLastWriteTimeUtc(directory) < DateTime.UtcNow.AddMinutes(-30)
                && !File.Exists(Path.Combine(directory, "data", "postmaster.pid")))
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // Someone else's, or in use: leave it.
                }
            }
        }
    }

    private void DeleteDirectory()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Left behind in /tmp: harmless.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
