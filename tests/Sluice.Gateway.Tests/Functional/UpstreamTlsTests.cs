using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Sluice.FakeUpstream;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// An https:// upstream, as api.openai.com is: the calls go over TLS, and over HTTP/2 when the upstream offers it
/// (the fake offers HTTP/1.1 and HTTP/2 by ALPN, as OpenAI does). The other functional tests use plain HTTP/1.1,
/// but for <see cref="StreamingTests"/>, which run over both.
/// </summary>
public sealed class UpstreamTlsTests
{
    [Fact]
    public async Task Chat_GoesOverHttp2_WithTheUpstreamKey_AndComesBackWithTheLimitHeaders()
    {
        await using var relay = await RelayFixture.StartAsync(tls: RelayFixture.Tls.Upstream);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var body = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}""";

        using var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("https://", relay.Upstream.BaseUrl, StringComparison.Ordinal);
        var seen = Assert.Single(relay.Upstream.Requests);
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal(body, seen.BodyText);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture), seen.Header("Content-Length"));
        Assert.Equal("Bearer sk-upstream-secret", seen.Header("Authorization"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("chat.completion", json.RootElement.GetProperty("object").GetString());
        Assert.Equal("149", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());

        // The model list comes over the same kind of connection.
        using var models = await client.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal("HTTP/2", relay.Upstream.Requests[^1].Protocol);
        Assert.Equal("/v1/models", relay.Upstream.Requests[^1].PathAndQuery);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(300_000)]
    public async Task ChunkedClientBody_ReachesTheUpstreamWhole_OverHttp2(int padding)
    {
        // 300 KB is several HTTP/2 flow-control windows (64 KB at the start of a stream): the body sent from memory must
        // wait for the upstream's window updates and still arrive whole.
        await using var relay = await RelayFixture.StartAsync(tls: RelayFixture.Tls.Upstream);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        var body = JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "Say hello" } }, user = new string('u', padding) });
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(relay.Upstream.Requests);
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal(body, seen.BodyText);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture), seen.Header("Content-Length"));
    }

    [Fact]
    public async Task UntrustedCertificate_Is502_OpenAIShaped_AndNothingReachesTheUpstream()
    {
        // The fake's self-signed certificate is in no trust store: without Sluice:Upstream:CaCertificate it is refused.
        await using var relay = await RelayFixture.StartAsync(tls: RelayFixture.Tls.Upstream, trustUpstream: false);
        var (keyId, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal("upstream_unavailable", error.GetProperty("code").GetString());
        Assert.Equal(0, relay.Upstream.RequestCount);
        // A call the upstream never saw is given back.
        Assert.Equal(0, await relay.UsedAsync(keyId));
    }

    [Fact]
    public async Task CaCertificate_MissingFile_OrPlainHttpUpstream_StopsStart()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sluice-no-such-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        var garbage = Path.GetTempFileName();
        await File.WriteAllTextAsync(garbage, "not a certificate");
        try
        {
            var messages = await StartFailuresAsync("https://127.0.0.1:1", missing);
            Assert.Contains(messages, m => m.Contains("Sluice:Upstream:CaCertificate", StringComparison.Ordinal) && m.Contains(missing, StringComparison.Ordinal));

            messages = await StartFailuresAsync("https://127.0.0.1:1", garbage);
            Assert.Contains(messages, m => m.Contains("Sluice:Upstream:CaCertificate", StringComparison.Ordinal) && m.Contains("cannot be read as a certificate", StringComparison.Ordinal));

            // A certificate that parses, for an upstream without TLS: a mistake, said at start.
            await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { Https = true });
            await File.WriteAllTextAsync(garbage, fake.CertificatePem);
            messages = await StartFailuresAsync("http://127.0.0.1:1", garbage);
            Assert.Contains(messages, m => m.Contains("only for an https:// upstream", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(garbage);
        }
    }

    private static Task<List<string>> StartFailuresAsync(string upstream, string caCertificate) =>
        OperationsTests.StartFailuresAsync("--Sluice:Upstream:BaseUrl=" + upstream, "--Sluice:Upstream:CaCertificate=" + caCertificate);
}
