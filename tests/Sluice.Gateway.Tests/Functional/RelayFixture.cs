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

    /// <summary>
    /// With <see cref="Tls.Upstream"/> the fake serves HTTPS (HTTP/2 by ALPN) and the gateway trusts its certificate
    /// (<c>Sluice:Upstream:CaCertificate</c>, unless <paramref name="trustUpstream"/> is false); with <see cref="Tls.Both"/>
    /// the gateway serves HTTPS too (Kestrel's <c>Certificates:Default</c>), and its clients ask for HTTP/2.
    /// An HTTPS upstream may also be asked for with <see cref="FakeUpstreamOptions.Https"/>.
    /// </summary>
    public static async Task<RelayFixture> StartAsync(
        IDictionary<string, string?>? settings = null, FakeUpstreamOptions? upstream = null, bool trustUpstream = true, Tls tls = Tls.None)
    {
        upstream ??= new FakeUpstreamOptions { ExpectedApiKey = "sk-upstream-secret" };
        upstream.Https |= tls != Tls.None;
        var fake = await FakeUpstreamServer.StartAsync(upstream);
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        // Certificates go in the gateway's data directory, which goes with it.
        var dataDir = Directory.CreateTempSubdirectory("sluice-test-").FullName;
        if (fake.CertificatePem is { } pem && trustUpstream)
        {
            all["Sluice:Upstream:CaCertificate"] = Path.Combine(dataDir, "upstream-ca.pem");
            await File.WriteAllTextAsync(all["Sluice:Upstream:CaCertificate"]!, pem);
        }
        if (tls == Tls.Both)
        {
            using var certificate = LoopbackCertificate.Create("CN=Sluice test gateway");
            all["urls"] = "https://127.0.0.1:0";
            all["Kestrel:Certificates:Default:Path"] = Path.Combine(dataDir, "gateway.pem");
            all["Kestrel:Certificates:Default:KeyPath"] = Path.Combine(dataDir, "gateway.key");
            LoopbackCertificate.WritePem(certificate, all["Kestrel:Certificates:Default:Path"]!, all["Kestrel:Certificates:Default:KeyPath"]!);
        }
        var gateway = await GatewayHost.StartAsync(fake.BaseUrl, all, dataDir: dataDir);
        return new RelayFixture(fake, gateway);
    }

    /// <summary>Which legs of a call run over TLS: none (plain HTTP/1.1), the gateway's call to the upstream, or both
    /// that and the client's call to the gateway (each then HTTP/2).</summary>
    public enum Tls
    {
        None,
        Upstream,
        Both,
    }

    /// <summary>Settings for a free plan of <paramref name="limit"/> requests per day per key and per IP.</summary>
    public static Dictionary<string, string?> FreePlan(int limit, string window = "1.00:00:00") => new()
    {
        ["Sluice:Plans:free:Limits:0:Scope"] = "KeyAndIp",
        ["Sluice:Plans:free:Limits:0:Requests"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Sluice:Plans:free:Limits:0:Window"] = window,
    };

    /// <summary>A free plan of <paramref name="limit"/> on Redis at <paramref name="configuration"/>, under its own key
    /// prefix, with the outage policy <paramref name="policy"/>.</summary>
    public static Dictionary<string, string?> OnRedis(string configuration, string prefix, string policy, int limit = 150) => new(FreePlan(limit))
    {
        ["Sluice:Redis:Configuration"] = configuration,
        ["Sluice:Redis:KeyPrefix"] = prefix,
        ["Sluice:Limiter:OutagePolicy"] = policy,
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
