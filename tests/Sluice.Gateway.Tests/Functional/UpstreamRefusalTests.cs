using System.Net;
using Sluice.FakeUpstream;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The upstream refusing the operator (its 401, 403, 429) is not the user's fault: the user hears whose problem it is,
/// never that their own key is wrong, and the call is given back. The model list shares one fetch between callers.
/// </summary>
public sealed class UpstreamRefusalTests
{
    [Theory]
    [InlineData(401, HttpStatusCode.BadGateway, "upstream_refused")]
    [InlineData(403, HttpStatusCode.BadGateway, "upstream_refused")]
    [InlineData(429, HttpStatusCode.ServiceUnavailable, "upstream_rate_limited")]
    public async Task UpstreamRefusesTheOperator_UserGetsAClearServerError_AndTheCallIsGivenBack(int upstreamStatus, HttpStatusCode expected, string code)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        client.DefaultRequestHeaders.Add("x-fake-failure", $"status={upstreamStatus}");

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(expected, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.DoesNotContain("Incorrect API key", message, StringComparison.Ordinal);
        Assert.DoesNotContain("org", message, StringComparison.OrdinalIgnoreCase);
        if (upstreamStatus == 429)
        {
            Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }
        Assert.Equal(1, relay.Upstream.RequestCount);
        Assert.Equal("150", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal(0, row.Cost.Nanodollars);
        Assert.Equal(0, await relay.UsedAsync(id));
    }

    /// <summary>
    /// The upstream's own Retry-After is passed on (at most an hour); beyond the 60 s that OpenAI's libraries wait,
    /// with <c>x-should-retry: false</c>, so that they report the 503 instead of sitting in a retry.
    /// </summary>
    [Theory]
    [InlineData(2, "2", null)]
    [InlineData(60, "60", null)]
    [InlineData(61, "61", "false")]
    [InlineData(7200, "3600", "false")]
    public async Task UpstreamRateLimitsTheOperator_ItsRetryAfterIsPassedOn_WithRetryAdvice(int upstreamRetryAfter, string retryAfter, string? shouldRetry)
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        client.DefaultRequestHeaders.Add("x-fake-failure", $"status=429,retry-after={upstreamRetryAfter}");

        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream_rate_limited", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(retryAfter, response.Headers.GetValues("Retry-After").Single());
        Assert.Equal(shouldRetry, response.Headers.TryGetValues("x-should-retry", out var values) ? values.Single() : null);
    }

    [Fact]
    public async Task ModelList_UpstreamRefusesTheOperator_Is502NotTheUpstreams401()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        relay.Upstream.Failure = new FakeFailure { Status = 401 };

        using var response = await client.GetAsync("v1/models");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_refused", (await RelayFixture.ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ModelList_UpstreamHangs_ConcurrentCallersShareOneFetch_AndGet504AtTheTimeout()
    {
        var settings = new Dictionary<string, string?>(RelayFixture.FreePlan(150)) { ["Sluice:Upstream:Timeout"] = "00:00:02" };
        await using var relay = await RelayFixture.StartAsync(settings);
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        relay.Upstream.Failure = new FakeFailure { Hang = true };
        var clients = Enumerable.Range(2, 4).Select(n => relay.Gateway.ClientFrom(n, key)).ToArray();

        var responses = await Task.WhenAll(clients.Select(c => c.GetAsync("v1/models")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.GatewayTimeout, r.StatusCode));
        // One fetch answered all four (before, each waited for the one before it to time out, then fetched again).
        Assert.Equal(1, relay.Upstream.RequestCount);
        foreach (var response in responses)
        {
            response.Dispose();
        }
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
