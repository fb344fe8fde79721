using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Gateway.Hosting;

namespace Sluice.Testing.Gateway;

/// <summary>
/// The real gateway on real Kestrel, on a free loopback port, with its own data directory. Settings are plain
/// configuration keys, exactly as an operator writes them. Restart with <see cref="RestartAsync"/> keeps the data dir.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly string? _settingsFile;
    private WebApplication? _app;

    private GatewayHost(string dataDir, Dictionary<string, string?> settings, Action<IServiceCollection>? services, string? settingsFile)
    {
        DataDir = dataDir;
        _settings = settings;
        _services = services;
        _settingsFile = settingsFile;
    }

    public string DataDir { get; }

    /// <summary>The access log lines written so far (the log is flushed every 50 ms and at a stop).</summary>
    public string[] AccessLogLines()
    {
        var path = Path.Combine(DataDir, "access.log");
        if (!File.Exists(path))
        {
            return [];
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public string BaseUrl { get; private set; } = "";

    /// <summary>The certificate the gateway serves HTTPS with (<c>Kestrel:Certificates:Default:Path</c>), which its
    /// clients trust; null when it serves plain HTTP.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    /// <summary>Starts a gateway forwarding to <paramref name="upstream"/> with the given extra settings, and the JSON
    /// file <paramref name="settingsFile"/> watched for changes as <c>appsettings.json</c> is.</summary>
    public static async Task<GatewayHost> StartAsync(
        string upstream, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string? dataDir = null, string? settingsFile = null)
    {
        dataDir ??= Path.Combine(Path.GetTempPath(), "sluice-test-" + Guid.NewGuid().ToString("N")[..10]);
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Sluice:DataDir"] = dataDir,
            ["Sluice:Upstream:BaseUrl"] = upstream,
            ["Sluice:Upstream:ApiKey"] = "sk-upstream-secret",
            ["Sluice:Admin:Token"] = AdminToken,
            ["Logging:LogLevel:Default"] = "Warning",
            // The access log goes to a file in the data directory: quiet, and there for tests to read.
            ["Sluice:AccessLog:Path"] = Path.Combine(dataDir, "access.log"),
            ["Sluice:AccessLog:FlushInterval"] = "00:00:00.05",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var host = new GatewayHost(dataDir, all, services, settingsFile);
        await host.StartAppAsync();
        return host;
    }

    /// <summary>A graceful stop (as on SIGTERM) and a fresh start on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync();
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>A client connecting from 127.0.0.<paramref name="n"/>.</summary>
    public HttpClient ClientFrom(int n, string? apiKey = null)
    {
        var client = LoopbackClients.From(LoopbackClients.Address(n), BaseUrl, trusted: ServerCertificate);
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return client;
    }

    public HttpClient AdminClient()
    {
        var client = ClientFrom(1);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    /// <summary><c>GET /healthz</c>: its status code and its JSON (overall status, then each component's).</summary>
    public async Task<(HttpStatusCode Status, JsonElement Report)> HealthAsync()
    {
        using var client = ClientFrom(1);
        return await HealthReports.ReadAsync(client);
    }

    /// <summary>Component <paramref name="name"/> on <c>/healthz</c> once it is <paramref name="status"/>
    /// (<see cref="HealthReports.WhenAsync"/>), or as last seen after 20 s.</summary>
    public async Task<JsonElement> HealthOnceAsync(string name, string status)
    {
        using var client = ClientFrom(1);
        var (_, report) = await HealthReports.WhenAsync(client, status, name);
        return report.GetProperty("components").GetProperty(name);
    }

    /// <summary>Creates a key through the admin API; returns (id, secret).</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(string name = "test", string? plan = null)
    {
        using var admin = AdminClient();
        using var response = await admin.PostAsJsonAsync("admin/keys", new { name, plan });
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Creating a key failed: {(int)response.StatusCode} {body}");
        }
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("key").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }

    private async Task StartAppAsync()
    {
        var args = _settings.Select(pair => $"--{pair.Key}={pair.Value}").ToArray();
        _app = SluiceApplication.Create(args, builder =>
        {
            if (_settingsFile is not null)
            {
                builder.Configuration.AddJsonFile(_settingsFile, optional: false, reloadOnChange: true);
            }
            _services?.Invoke(builder.Services);
        });
        await _app.StartAsync();
        BaseUrl = _app.Urls.First();
        ServerCertificate = _settings.TryGetValue("Kestrel:Certificates:Default:Path", out var certificate) && certificate is not null
            ? X509Certificate2.CreateFromPem(File.ReadAllText(certificate))
            : null;
    }
}
