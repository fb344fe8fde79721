using System.Diagnostics;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>Debian's Chromium, headless, with the flags this sandboxed machine needs (no network beyond loopback).</summary>
internal static class Chromium
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Loads the page, lets its scripts run (in virtual time, up to 10 s) and returns the DOM.</summary>
    public static async Task<string> DumpDomAsync(string url)
    {
        using var browser = new Browser("--virtual-time-budget=10000", "--dump-dom", url);
        var dom = browser.Process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        await browser.Process.WaitForExitAsync(timeout.Token);
        return await dom;
    }

    /// <summary>
    /// Opens the page and waits, in real time, until <paramref name="done"/> completes (the page reports back to
    /// the test), at most a minute; then closes the browser. For pages whose scripts wait on the network for longer
    /// than a DOM dump would wait.
    /// </summary>
    public static async Task<T> RunUntilAsync<T>(string url, Task<T> done)
    {
        using var browser = new Browser(url);
        var exited = browser.Process.WaitForExitAsync();
        var first = await Task.WhenAny(done, exited, Task.Delay(Timeout));
        if (first != done)
        {
            throw new TimeoutException(first == exited
                ? $"chromium exited ({browser.Process.ExitCode}) before the page reported: {await browser.Errors}"
                : $"the page did not report within {Timeout.TotalSeconds} s");
        }
        return await done;
    }

    private sealed class Browser : IDisposable
    {
        private readonly string _profile = Path.Combine(Path.GetTempPath(), "sluice-chromium-" + Guid.NewGuid().ToString("N")[..8]);

        public Browser(params string[] args)
        {
            var start = new ProcessStartInfo("/usr/bin/chromium") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + _profile,
            }.Concat(args))
            {
                start.ArgumentList.Add(arg);
            }
            Process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start (apt-get install chromium).");
            Errors = Process.StandardError.ReadToEndAsync();
        }

        public Process Process { get; }

        public Task<string> Errors { get; }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }
            Process.Dispose();
            if (Directory.Exists(_profile))
            {
                Directory.Delete(_profile, recursive: true);
            }
        }
    }
}
