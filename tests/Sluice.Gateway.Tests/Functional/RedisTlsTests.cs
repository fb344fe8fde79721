using System.Net;
using System.Security.Cryptography.X509Certificates;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;
using StackExchange.Redis;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The gateway on a redis-server that speaks only TLS, with a self-signed certificate (as a Redis behind an
/// internal CA): trusted through <c>Sluice:Redis:CaCertificate</c> (<c>--redis-ca</c>) decisions are taken there;
/// without it the certificate is refused and the outage policy answers.
/// </summary>
public sealed class RedisTlsTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "sluice-redis-tls-" + Guid.NewGuid().ToString("N")[..10]);
    private X509Certificate2? _certificate;
    private RedisServer? _redis;
    private FakeUpstreamServer? _upstream;

    private string CaFile => Path.Combine(_directory, "redis.pem");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _certificate = LoopbackCertificate.Create("CN=Sluice test Redis");
        var key = Path.Combine(_directory, "redis.key");
        LoopbackCertificate.WritePem(_certificate, CaFile, key);
        _redis = await RedisServer.StartAsync(tls: (CaFile, key));
        _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
    }

    public async Task DisposeAsync()
    {
        await _upstream!.DisposeAsync();
        await _redis!.DisposeAsync();
        _certificate!.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private Task<GatewayHost> Gateway(string? caCertificate) => GatewayHost.StartAsync(_upstream!.BaseUrl,
        new Dictionary<string, string?>(RelayFixture.OnRedis(_redis!.Configuration, "tls", "Closed")) { ["Sluice:Redis:CaCertificate"] = caCertificate });

    [Fact]
    public async Task TrustedCa_DecisionsAreTakenInRedisOverTls()
    {
        await using var gateway = await Gateway(CaFile);
        var (id, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);

        await RedisOutageTests.AssertStatuses(client, 2, HttpStatusCode.OK);

        var options = ConfigurationOptions.Parse(_redis!.Configuration);
        options.CertificateValidation += (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == _certificate!.GetCertHashString();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.Equal(2, await redis.GetDatabase().ListLengthAsync($"{{tls}}:c:free:key|{id}"));
    }

    [Fact]
    public async Task WithoutCa_TheCertificateIsRefused_AndTheOutagePolicyAnswers()
    {
        await using var gateway = await Gateway(null);
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);

        await RedisOutageTests.AssertStatuses(client, 2, HttpStatusCode.ServiceUnavailable);

        var limiter = await gateway.HealthOnceAsync("limiter", "Degraded");
        Assert.Contains("outage policy 'closed' applies", limiter.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _upstream!.RequestCount);
    }

    [Fact]
    public async Task CaCertificate_WithoutTls_OrUnreadable_StopsStart()
    {
        var garbage = Path.Combine(_directory, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "not a certificate");

        var messages = await StartFailuresAsync($"127.0.0.1:{_redis!.Port}", CaFile);
        Assert.Contains(messages, m => m.Contains("Sluice:Redis:CaCertificate (--redis-ca) is only for Redis over TLS", StringComparison.Ordinal));

        messages = await StartFailuresAsync(_redis.Configuration, garbage);
        Assert.Contains(messages, m => m.Contains("Sluice:Redis:CaCertificate", StringComparison.Ordinal) && m.Contains("cannot be read as a certificate", StringComparison.Ordinal));
    }

    private static Task<List<string>> StartFailuresAsync(string redis, string caCertificate) =>
        OperationsTests.StartFailuresAsync("--Sluice:Redis:Configuration=" + redis, "--Sluice:Redis:CaCertificate=" + caCertificate);
}
