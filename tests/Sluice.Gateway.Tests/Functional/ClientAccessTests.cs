using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;

namespace Sluice.Gateway.Tests.Functional;

/// <summary>
/// The client access lists (<c>Sluice:ClientIp:Allow</c> and <c>:Deny</c>): a client shut out gets OpenAI's shape of a
/// 403 before its key is read, never reaches the upstream and uses nothing; the lists follow a changed settings file
/// without a restart. Clients are told apart by their source address (127.0.0.x).
/// </summary>
public sealed class ClientAccessTests
{
    [Fact]
    public async Task DeniedAddress_Is403IpNotAllowed_UpstreamNeverCalled_NothingCounted()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?>(RelayFixture.FreePlan(5))
        {
            ["Sluice:ClientIp:Deny:0"] = "127.0.0.3",
        });
        var (id, key) = await relay.Gateway.CreateKeyAsync();
        using var denied = relay.Gateway.ClientFrom(3, key);

        using var response = await denied.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = await RelayFixture.ErrorOf(response);
        Assert.Equal("ip_not_allowed", error.GetProperty("code").GetString());
        Assert.Equal("request_forbidden", error.GetProperty("type").GetString());
        Assert.Contains("(127.0.0.3)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("x-request-id"));
        Assert.Equal(0, relay.Upstream.RequestCount);
        Assert.Equal(0, await relay.UsedAsync(id));

        // The same key from an address not on the list works, and only that call is counted.
        using var allowed = relay.Gateway.ClientFrom(2, key);
        using var ok = await allowed.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, relay.Upstream.RequestCount);
        Assert.Equal(1, await relay.UsedAsync(id));

        // The lists guard the relay only: health checks still answer the denied address.
        using var health = relay.Gateway.ClientFrom(3);
        Assert.Equal(HttpStatusCode.OK, (await health.GetAsync("healthz")).StatusCode);
        // Self-service is part of the relay: shut out too, without reading the key.
        using var me = await denied.GetAsync("sluice/me");
        Assert.Equal(HttpStatusCode.Forbidden, me.StatusCode);
    }

    [Theory]
    [InlineData(1, HttpStatusCode.OK)] // in the allowed network
    [InlineData(2, HttpStatusCode.Forbidden)] // in the allowed network, and denied: the deny list wins
    [InlineData(3, HttpStatusCode.OK)]
    [InlineData(4, HttpStatusCode.Forbidden)] // outside the allowed network
    [InlineData(9, HttpStatusCode.Forbidden)]
    public async Task AllowList_OnlyItsNetworksGetThrough_DenyListWinsInsideIt(int client, HttpStatusCode expected)
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?>
        {
            ["Sluice:ClientIp:Allow:0"] = "127.0.0.0/30",
            ["Sluice:ClientIp:Deny:0"] = "127.0.0.2",
        });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var http = relay.Gateway.ClientFrom(client, key);

        using var response = await http.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK ? 1 : 0, relay.Upstream.RequestCount);
    }

    [Fact]
    public async Task BehindTrustedProxy_TheForwardedClientIsChecked_NotTheProxy()
    {
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?>
        {
            ["Sluice:ClientIp:TrustedProxies:0"] = "127.0.0.5",
            ["Sluice:ClientIp:Deny:0"] = "203.0.113.0/24",
        });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var proxy = relay.Gateway.ClientFrom(5, key);

        using var denied = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        denied.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var refused = await proxy.SendAsync(denied);
        using var other = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = RelayFixture.Chat() };
        other.Headers.Add("X-Forwarded-For", "198.51.100.7");
        using var ok = await proxy.SendAsync(other);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("(203.0.113.9)", (await RelayFixture.ErrorOf(refused)).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    /// <summary>An operator edits the settings file of a running gateway: the new deny list applies without a restart, a
    /// broken one is refused and the lists in force stay, and clearing the list lets the client back in.</summary>
    [Fact]
    public async Task ChangedSettingsFile_AppliesWithoutRestart_BrokenListKeepsThePrevious()
    {
        var file = Path.Combine(Path.GetTempPath(), "sluice-access-" + Guid.NewGuid().ToString("N") + ".json");
        WriteDeny(file, []);
        try
        {
            await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());
            var log = new EventLog();
            await using var gateway = await GatewayHost.StartAsync(fake.BaseUrl, services: s => s.AddSingleton<ILoggerProvider>(log), settingsFile: file);
            var (_, key) = await gateway.CreateKeyAsync();
            using var client = gateway.ClientFrom(4, key);
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(client));

            // A setting beside the lists that cannot be read (other settings are read at start-up only) does not stop them.
            File.WriteAllText(file, """{"Sluice":{"ClientIp":{"Ipv4PrefixLength":"abc","Deny":["127.0.0.4"]}}}""");
            Assert.Equal(HttpStatusCode.Forbidden, await StatusOnceItIsAsync(client, HttpStatusCode.Forbidden));

            // A broken list (and a valid entry beside it that would let the client back in) changes nothing.
            WriteDeny(file, ["127.0.0.99", "not-an-address"]);
            Assert.True(await log.WaitForAsync("ClientAccessReloadRefused"), "the broken list was never read");
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(client));

            // Emptied (as a deleted or unreadable file also looks): everyone is let in, with a warning.
            WriteDeny(file, []);
            Assert.Equal(HttpStatusCode.OK, await StatusOnceItIsAsync(client, HttpStatusCode.OK));
            Assert.True(await log.WaitForAsync("ClientAccessCleared"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ListWrittenAsOneValue_StopsTheStart_InsteadOfLettingEveryoneIn()
    {
        await using var fake = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());

        var failure = await Assert.ThrowsAnyAsync<Exception>(() =>
            GatewayHost.StartAsync(fake.BaseUrl, new Dictionary<string, string?> { ["Sluice:ClientIp:Deny"] = "203.0.113.9" }));

        Assert.Contains("Sluice:ClientIp:Deny must be a list: write Sluice:ClientIp:Deny:0=203.0.113.9", failure.ToString(), StringComparison.Ordinal);
    }

    private static void WriteDeny(string file, string[] deny) =>
        File.WriteAllText(file, JsonSerializer.Serialize(new { Sluice = new { ClientIp = new { Deny = deny } } }));

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client)
    {
        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        return response.StatusCode;
    }

    /// <summary>Log events by name, to wait for what a file change made the gateway do.</summary>
    private sealed class EventLog : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _events = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name is { } name)
            {
                _events.Enqueue(name);
            }
        }

        /// <summary>Whether the event came within 10 s (a bound on a stalled machine, not a speed requirement).</summary>
        public async Task<bool> WaitForAsync(string name)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!_events.Contains(name))
            {
                if (waited.Elapsed > TimeSpan.FromSeconds(10))
                {
                    return false;
                }
                await Task.Delay(50);
            }
            return true;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The status once the file watcher has seen the change (at most 10 s: a bound on a stalled machine, not a
    /// speed requirement).</summary>
    private static async Task<HttpStatusCode> StatusOnceItIsAsync(HttpClient client, HttpStatusCode wanted)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = await StatusAsync(client);
            if (status == wanted || waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                return status;
            }
            await Task.Delay(50);
        }
    }
}
