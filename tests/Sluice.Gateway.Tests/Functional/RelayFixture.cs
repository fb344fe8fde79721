using System.Net.Http.Json;
using System.Text.Json;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>A fake upstream and the real gateway in front of it, both on loopback, made fresh for one test.</summary>
public sealed class RelayFixture : IAsyncDisposable
{
    private RelayFixture(FakeUpstreamServer upstream, GatewayHost gateway)
    {
        Upstream = upstream;
        Gateway = gateway;
    }

    public FakeUpstreamServer Upstream { get; }

    public GatewayHost Gateway { get; }

    /// <summary>With an HTTPS upstream (<see cref="FakeUpstreamOptions.Https"/>) the gateway trusts the fake's own
    /// certificate (<c>Sluice:Upstream:CaCertificate</c>), unless <paramref name="trustUpstream"/> is false.</summary>
    public static async Task<RelayFixture> StartAsync(IDictionary<string, string?>? settings = null, FakeUpstreamOptions? upstream = null, bool trustUpstream = true)
    {
        var fake = await FakeUpstreamServer.StartAsync(upstream ?? new FakeUpstreamOptions { ExpectedApiKey = "sk-upstream-secret" });
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        string? dataDir = null;
        if (fake.CertificatePem is { } pem && trustUpstream)
        {
            // In the gateway's data directory, which goes with it.
            dataDir = Directory.CreateTempSubdirectory("sluice-test-").FullName;
            all["Sluice:Upstream:CaCertificate"] = Path.Combine(dataDir, "upstream-ca.pem");
            await File.WriteAllTextAsync(all["Sluice:Upstream:CaCertificate"]!, pem);
        }
        var gateway = await GatewayHost.StartAsync(fake.BaseUrl, all, dataDir: dataDir);
        return new RelayFixture(fake, gateway);
    }

    /// <summary>Settings for a free plan of <paramref name="limit"/> requests per day per key and per IP.</summary>
    public static Dictionary<string, string?> FreePlan(int limit, string window = "1.00:00:00") => new()
    {
        ["Sluice:Plans:free:Limits:0:Scope"] = "KeyAndIp",
        ["Sluice:Plans:free:Limits:0:Requests"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Sluice:Plans:free:Limits:0:Window"] = window,
    };

    public static JsonContent Chat(string model = "gpt-4o-mini", bool stream = false, bool includeUsage = false) =>
        JsonContent.Create(new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content = "Say hello" } },
            ["stream"] = stream,
            ["stream_options"] = includeUsage ? new { include_usage = true } : null,
        });

    public static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error").Clone();
        Assert.True(error.TryGetProperty("message", out _));
        Assert.True(error.TryGetProperty("type", out _));
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    /// <summary>What a key has used of all its limits (key, IP, caps), as the admin API reports it.</summary>
    public async Task<int> UsedAsync(string keyId)
    {
        using var admin = Gateway.AdminClient();
        using var document = JsonDocument.Parse(await admin.GetStringAsync($"admin/keys/{keyId}"));
        return document.RootElement.GetProperty("usage").EnumerateArray().Sum(limit => limit.GetProperty("used").GetInt32());
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
