using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sluice.Testing;

namespace Sluice.Tests;

/// <summary>The real <c>sluice</c> executable run as a child process (<c>dotnet sluice.dll …</c>), as an operator runs it.</summary>
public sealed class SluiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();

    private SluiceProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public static string Executable => Path.Combine(AppContext.BaseDirectory, "sluice.dll");

    /// <summary>Starts <c>sluice serve</c> on a free loopback port and waits until <c>/healthz</c> answers.</summary>
    public static async Task<SluiceProcess> ServeAsync(params string[] args)
    {
        var port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var process = Start(["serve", "--urls", baseUrl, .. args]);
        var sluice = new SluiceProcess(process, baseUrl);
        sluice.Capture();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"sluice serve exited with {process.ExitCode}: {sluice.Errors}{sluice.Output}");
            }
            try
            {
                using var health = await http.GetAsync(baseUrl + "/healthz");
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return sluice;
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or too busy starting to answer within the probe's 2 s (a loaded machine).
            }
            await Task.Delay(100);
        }
        await sluice.DisposeAsync();
        throw new TimeoutException("sluice serve did not answer /healthz: " + sluice.Output);
    }

    /// <summary>Runs a <c>sluice</c> command to its end; returns its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] args)
    {
        using var process = Start(args);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Patience);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>Sends SIGTERM, as a service manager does, and waits for a graceful exit.</summary>
    public async Task<int> TerminateAsync()
    {
        Signals.Send(_process, Signals.Term);
        using var timeout = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static Process Start(string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Executable);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return Process.Start(start) ?? throw new InvalidOperationException("Could not start sluice.");
    }

    private void Capture()
    {
        _process.OutputDataReceived += (_, e) =>
        {
            lock (_output)
            {
                _output.AppendLine(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                _errors.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
