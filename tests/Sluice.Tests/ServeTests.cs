using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>The executable as an operator runs it: start, SIGTERM, start again; a bad configuration.</summary>
public sealed class ServeTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "sluice-proc-" + Guid.NewGuid().ToString("N")[..10]);
    private FakeUpstreamServer? _upstream;

    public async Task InitializeAsync() => _upstream = await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions());

    public async Task DisposeAsync()
    {
        await _upstream!.DisposeAsync();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Sigterm_ThenStart_EveryKeyAndIpKeepsExactlyItsCounts()
    {
        string id, key, other;
        var first = await SluiceProcess.ServeAsync("--data-dir", _dataDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken");
        await using (first)
        {
            (id, key) = await CreateKeyAsync(first.BaseUrl, "alice");
            (_, other) = await CreateKeyAsync(first.BaseUrl, "bob");
            await CallAsync(first.BaseUrl, 2, key, 3);
            await CallAsync(first.BaseUrl, 3, key, 1);

            Assert.Equal(0, await first.TerminateAsync());
            Assert.Contains("Saved", first.Output, StringComparison.Ordinal);
        }

        await using var second = await SluiceProcess.ServeAsync("--data-dir", _dataDir, "--upstream", _upstream.BaseUrl, "--admin-token", "t0ken");
        using var admin = Admin(second.BaseUrl);
        using (var show = JsonDocument.Parse(await admin.GetStringAsync($"admin/keys/{id}")))
        {
            Assert.Equal(4, show.RootElement.GetProperty("usage")[0].GetProperty("used").GetInt32());
        }
        // Key alice: 4 used → 145 left after this call. Address 127.0.0.2: 3 used by alice → bob sees 146 left there.
        Assert.Equal("145", await CallAsync(second.BaseUrl, 3, key, 1));
        Assert.Equal("146", await CallAsync(second.BaseUrl, 2, other, 1));
    }

    /// <summary>Redis unreachable at start stops nothing, and the warning says why (here a refused password), not
    /// only that it is not connected.</summary>
    [Fact]
    public async Task RedisRefusingThePassword_StartStillServes_AndTheWarningSaysWhy()
    {
        await using var redis = await RedisServer.StartAsync(password: "right-" + Guid.NewGuid().ToString("N")[..8]);
        await using var gateway = await SluiceProcess.ServeAsync("--data-dir", _dataDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken",
            "--redis", $"127.0.0.1:{redis.Port},password=wrong");

        using var http = new HttpClient();
        using var health = await http.GetAsync(gateway.BaseUrl + "/healthz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("could not be loaded at start (connection: ", gateway.Output, StringComparison.Ordinal);
        Assert.Contains("AuthenticationFailure", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadConfiguration_ExitsWithCode2_ListingEveryProblem()
    {
        var (exitCode, _, errors) = await SluiceProcess.RunAsync(
            "serve", "--urls", "http://127.0.0.1:0", "--data-dir", _dataDir,
            "--upstream", "not a url", "--upstream-ca", Path.Combine(_dataDir, "no-such-ca.pem"), "--trusted-proxy", "nonsense",
            "--Sluice:Plans:free:Limits:0:Requests=-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("4 problem(s)", errors, StringComparison.Ordinal);
        Assert.Contains("Sluice:Upstream:CaCertificate (--upstream-ca)", errors, StringComparison.Ordinal);
        Assert.Contains("Sluice:Upstream:BaseUrl", errors, StringComparison.Ordinal);
        Assert.Contains("TrustedProxies:0", errors, StringComparison.Ordinal);
        Assert.Contains("Limits:0:Requests", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    internal static HttpClient Admin(string baseUrl)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "t0ken");
        return client;
    }

    private static async Task<(string Id, string Key)> CreateKeyAsync(string baseUrl, string name)
    {
        using var admin = Admin(baseUrl);
        using var response = await admin.PostAsJsonAsync("admin/keys", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("key").GetString()!);
    }

    /// <summary>Makes <paramref name="count"/> chat calls from 127.0.0.<paramref name="ip"/>; returns the last remaining-requests header.</summary>
    private static async Task<string> CallAsync(string baseUrl, int ip, string key, int count)
    {
        using var client = LoopbackClients.From(LoopbackClients.Address(ip), baseUrl);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var remaining = "";
        for (var i = 0; i < count; i++)
        {
            using var response = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            remaining = response.Headers.GetValues("x-ratelimit-remaining-requests").Single();
        }
        return remaining;
    }
}
