using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>The joint Key+IP limit as a user meets it over HTTP: the 429, its message and headers, and who pays.</summary>
public sealed class RateLimitTests
{
    [Theory]
    [InlineData(RelayFixture.Tls.None)]
    [InlineData(RelayFixture.Tls.Both)]
    public async Task KeyLimit_FourthCallRefused_WithBodyAndHeadersThatSayWhenToRetry(RelayFixture.Tls tls)
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(3), tls: tls);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(tls == RelayFixture.Tls.Both ? HttpVersion.Version20 : HttpVersion.Version11, ok.Version);
            Assert.Equal((2 - i).ToString(CultureInfo.InvariantCulture), ok.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = await RelayFixture.ErrorOf(refused);
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("this API key", message, StringComparison.Ordinal);
        Assert.Contains("3/3", message, StringComparison.Ordinal);
        Assert.Contains("across all IPs", message, StringComparison.Ordinal);
        Assert.Contains("next request will be admitted in 23h59m", message, StringComparison.Ordinal);
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 86_300, 86_400);
        Assert.Equal("3", refused.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("0", refused.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.StartsWith("23h59m", refused.Headers.GetValues("x-ratelimit-reset-requests").Single(), StringComparison.Ordinal);
        // Beyond what OpenAI's libraries wait for: they are told not to retry into the same refusal.
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        // The refusal carries its request id too, as its access-log line does, so a user can point at it.
        Assert.StartsWith("req_", refused.Headers.GetValues("x-sluice-request-id").Single(), StringComparison.Ordinal);
        Assert.Equal("\"key\";q=3;w=86400, \"ip\";q=3;w=86400", refused.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Matches("^\"key\";r=0;t=86[34]\\d\\d, \"ip\";r=0;t=86[34]\\d\\d$", refused.Headers.GetValues("RateLimit").Single());
        Assert.Equal(3, relay.Upstream.RequestCount);
    }

    [Fact]
    public async Task IpUsedUpByOtherKeys_RefusesFreshKey_SaysTheIpMayBeShared_KeyStillWorksElsewhere()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(3));
        var (_, stranger) = await relay.Gateway.CreateKeyAsync("stranger");
        var (_, mine) = await relay.Gateway.CreateKeyAsync("mine");
        using (var strangerClient = relay.Gateway.ClientFrom(2, stranger))
        {
            for (var i = 0; i < 3; i++)
            {
                using var ok = await strangerClient.PostAsync("v1/chat/completions", RelayFixture.Chat());
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }
        }
        using var sharedIp = relay.Gateway.ClientFrom(2, mine);

        using var refused = await sharedIp.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var message = (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString()!;
        Assert.Contains("your IP address 127.0.0.2", message, StringComparison.Ordinal);
        Assert.Contains("across all API keys", message, StringComparison.Ordinal);
        Assert.Contains("shared with other users", message, StringComparison.Ordinal);
        Assert.Contains("your API key itself still has room (0/3", message, StringComparison.Ordinal);

        using var ownIp = relay.Gateway.ClientFrom(3, mine);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await ownIp.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        Assert.Equal(6, relay.Upstream.RequestCount);
    }

    [Fact]
    public async Task KeyUsedUpFromOtherIps_RefusedFromANewIp_WhichIsNotCharged()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(2));
        var (_, key) = await relay.Gateway.CreateKeyAsync("busy");
        var (_, other) = await relay.Gateway.CreateKeyAsync("other");
        foreach (var ip in new[] { 2, 3 })
        {
            using var client = relay.Gateway.ClientFrom(ip, key);
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var fresh = relay.Gateway.ClientFrom(4, key);
        using var refused = await fresh.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("this API key", (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);

        using var otherFromFresh = relay.Gateway.ClientFrom(4, other);
        for (var i = 0; i < 2; i++)
        {
            using var ok = await otherFromFresh.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
    }

    [Fact]
    public async Task ForgedForwardedFor_FromUntrustedClient_ChangesNothing()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(2));
        using var client = relay.Gateway.ClientFrom(2);
        for (var i = 0; i < 2; i++)
        {
            var (_, key) = await relay.Gateway.CreateKeyAsync($"k{i}");
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
            request.Headers.Authorization = new("Bearer", key);
            request.Headers.Add("X-Forwarded-For", $"198.51.100.{i}");
            using var ok = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var (_, third) = await relay.Gateway.CreateKeyAsync("k3");
        using var forged = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        forged.Headers.Authorization = new("Bearer", third);
        forged.Headers.Add("X-Forwarded-For", "203.0.113.99");

        using var refused = await client.SendAsync(forged);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("127.0.0.2", (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustedProxy_ForwardedForIsHonoured_EachClientBehindItCountedAlone()
    {
        var settings = new Dictionary<string, string?>(RelayFixture.FreePlan(1)) { ["Sluice:ClientIp:TrustedProxies:0"] = "127.0.0.5" };
        await using var relay = await RelayFixture.StartAsync(settings);
        using var proxy = relay.Gateway.ClientFrom(5);

        async Task<HttpResponseMessage> Call(string forwardedFor)
        {
            var (_, key) = await relay.Gateway.CreateKeyAsync();
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
            request.Headers.Authorization = new("Bearer", key);
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            return await proxy.SendAsync(request);
        }

        using (var first = await Call("198.51.100.1"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        using (var second = await Call("198.51.100.2"))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }
        // A client that puts a fake address in front is still counted by the address the proxy saw.
        using var again = await Call("203.0.113.50, 198.51.100.1");
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        Assert.Contains("198.51.100.1", (await RelayFixture.ErrorOf(again)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Window_RefusedUntilTheOldestTurnsADayOld_ThenAdmitted()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero));
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
        await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, RelayFixture.FreePlan(2), services => services.AddSingleton<TimeProvider>(time));
        var (_, key) = await gateway.CreateKeyAsync();
        using var client = gateway.ClientFrom(2, key);
        for (var i = 0; i < 2; i++)
        {
            using var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // x-should-retry: false only while the wait is longer than the 60 s OpenAI's libraries wait for.
        time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal("61", refused.Headers.GetValues("Retry-After").Single());
            Assert.Equal("60001", refused.Headers.GetValues("retry-after-ms").Single());
            Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        }
        time.Advance(TimeSpan.FromMilliseconds(1));
        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal("60", refused.Headers.GetValues("Retry-After").Single());
            Assert.Equal("60000", refused.Headers.GetValues("retry-after-ms").Single());
            Assert.False(refused.Headers.Contains("x-should-retry"));
        }
        time.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
            Assert.Equal("1", refused.Headers.GetValues("retry-after-ms").Single());
            Assert.False(refused.Headers.Contains("x-should-retry"));
            Assert.Equal("1ms", refused.Headers.GetValues("x-ratelimit-reset-requests").Single());
        }
        time.Advance(TimeSpan.FromMilliseconds(1));
        using var admitted = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }
}
