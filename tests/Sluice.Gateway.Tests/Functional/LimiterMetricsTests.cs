using System.Net;
using Sluice.Testing.Servers;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// What <c>/metrics</c> shows of the limiter. OpenTelemetry's meter provider listens to every meter named "Sluice"
/// in the process, not only to its own host's (seen: a second gateway in the same process reported the first one's
/// decisions), so a gateway of another test running meanwhile would add to the counts asserted here: these tests run
/// alone (<see cref="ProcessWideMetrics"/>). One gateway per process, as <c>sluice serve</c> runs, is not affected.
/// </summary>
[Collection(nameof(ProcessWideMetrics))]
public sealed class LimiterMetricsTests
{
    [Fact]
    public async Task EmbeddedLimiter_DecisionsAreCountedAndTimedInMetrics()
    {
        await using var relay = await RelayFixture.StartAsync(RelayFixture.FreePlan(1));
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        using (var ok = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat()))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        using var scraper = relay.Gateway.ClientFrom(1);
        var text = await scraper.GetStringAsync("metrics");

        Assert.Matches("sluice_limiter_decisions_total\\{[^}]*backend=\"embedded\"[^}]*result=\"admitted\"[^}]*\\} 1\\s", text);
        Assert.Matches("sluice_limiter_decisions_total\\{[^}]*backend=\"embedded\"[^}]*result=\"refused\"[^}]*\\} 1\\s", text);
        Assert.Matches("sluice_limiter_decision_duration_seconds_count\\{[^}]*backend=\"embedded\"[^}]*\\} 2\\s", text);
    }

    [Fact]
    public async Task DeniedClient_IsCountedAsRejectedByTheAccessLists()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?> { ["Sluice:ClientIp:Deny:0"] = "127.0.0.3" });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(3, key);
        for (var i = 0; i < 2; i++)
        {
            using var refused = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var scraper = relay.Gateway.ClientFrom(1);
        var text = await scraper.GetStringAsync("metrics");

        Assert.Matches("sluice_requests_rejected_total\\{[^}]*limit=\"ip_denied\"[^}]*\\} 2\\s", text);
    }

    [Fact]
    public async Task RedisDown_MetricsShowTheDegradedLimiter()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = await RelayFixture.StartAsync(
            new Dictionary<string, string?>(RelayFixture.OnRedis(redis.Configuration, "outage", "Local")) { ["Sluice:Limiter:BreakDuration"] = "00:00:01" });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        await redis.StopAsync();
        await RedisOutageTests.AssertStatuses(client, 5, HttpStatusCode.OK);

        using var metrics = relay.Gateway.ClientFrom(1);
        var text = "";
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!text.Contains("sluice_limiter_degraded 1", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            text = await metrics.GetStringAsync("metrics");
            await Task.Delay(200);
        }
        Assert.Contains("sluice_limiter_degraded 1", text, StringComparison.Ordinal);
        Assert.Matches("sluice_limiter_decisions_total\\{[^}]*backend=\"local\"", text);
    }
}

/// <summary>Tests that read process-wide metrics: run by themselves, never alongside another test's gateway.</summary>
[CollectionDefinition(nameof(ProcessWideMetrics), DisableParallelization = true)]
public sealed class ProcessWideMetrics;
