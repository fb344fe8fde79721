using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sluice.FakeUpstream;
using Sluice.Testing.Gateway;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>
/// Two gateway processes on a PostgreSQL server of the test's own, which is stopped and started under them: known keys
/// keep flowing (200s, never a 500, never a hang), admin calls answer 503 <c>database_unavailable</c>, the outage is
/// logged once rather than twice a second, and once the server is back everything works again without a restart.
/// </summary>
public sealed class PostgresOutageGatewayTests : IAsyncLifetime
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(10);

    private readonly TestResources _resources = new();
    private readonly List<SluiceProcess> _gateways = [];
    private PostgresServer? _server;
    private TestDatabase? _database;
    private FakeUpstreamServer? _upstream;

    public async Task InitializeAsync()
    {
        try
        {
            // The server owns its databases: disposing it is enough.
            _server = _resources.Own(await PostgresServer.StartAsync());
            _database = await _server.CreateDatabaseAsync();
            _upstream = _resources.Own(await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false }));
            foreach (var _ in new[] { "a", "b" })
            {
                _gateways.Add(_resources.Own(await SluiceProcess.ServeAsync("--data-dir", _resources.NewDataDir("sluice-pg-out-"), "--upstream", _upstream.BaseUrl,
                    "--admin-token", "t0ken", "--postgres", _database.ConnectionString)));
            }
        }
        catch
        {
            // xunit does not dispose a test class whose initialisation failed: leave no process behind.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync() => await _resources.ReleaseAsync();

    [Fact]
    public async Task PostgresStopped_KnownKeysFlow_AdminAnswers503_OutageLoggedOnce_ThenEverythingWorksAgain()
    {
        var (a, b) = (_gateways[0], _gateways[1]);
        var (id, key) = await PostgresGatewaysTests.CreateKeyAsync(a.BaseUrl, "alice");
        await PostgresGatewaysTests.TimeUntilStatusAsync(b.BaseUrl, key, HttpStatusCode.OK, TimeSpan.FromSeconds(1));

        await _server!.StopAsync();

        // Requests with the known key: every one relayed, on both instances, each answered promptly.
        foreach (var gateway in _gateways)
        {
            var statuses = await ChatAsync(gateway.BaseUrl, key, 15);
            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        }

        // Admin calls that need the database: 503 with a clear message and Retry-After, on both instances.
        using (var admin = ServeTests.Admin(a.BaseUrl))
        {
            await AssertUnavailableAsync(() => admin.PostAsJsonAsync("admin/keys", new { name = "bob" }));
            await AssertUnavailableAsync(() => admin.GetAsync("admin/keys"));
        }
        using (var admin = ServeTests.Admin(b.BaseUrl))
        {
            await AssertUnavailableAsync(() => admin.GetAsync($"admin/keys/{id}"));
            await AssertUnavailableAsync(() => admin.DeleteAsync($"admin/keys/{id}"));
        }

        // Two seconds more of the half-second poll and the listener's retries failing: still one warning each.
        await Task.Delay(TimeSpan.FromSeconds(2));
        foreach (var gateway in _gateways)
        {
            Assert.Equal(1, Count(gateway.Output, "Reading key changes from the store failed"));
            Assert.Equal(1, Count(gateway.Output, "Listening for changes on PostgreSQL .* failed"));
            // Each refused admin call is one warning line, not an "unhandled exception" with a stack trace.
            Assert.Equal(2, Count(gateway.Output, "answered 503: the key database is unavailable"));
            Assert.DoesNotContain("unhandled exception", gateway.Output, StringComparison.OrdinalIgnoreCase);
        }

        // /healthz tells an operator's monitor what is wrong and what it means, and still answers 200: the gateway works.
        using var health = new HttpClient { BaseAddress = new Uri(a.BaseUrl + "/") };
        var (status, report) = await HealthReports.WhenAsync(health, "Degraded", "keys", "ledger");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", report.GetProperty("status").GetString());
        var keys = report.GetProperty("components").GetProperty("keys");
        Assert.Equal("Degraded", keys.GetProperty("status").GetString());
        Assert.Contains("keys already known keep working", keys.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Degraded", report.GetProperty("components").GetProperty("ledger").GetProperty("status").GetString());

        await _server.StartAgainAsync();

        // Healthy again by itself.
        (status, report) = await HealthReports.WhenAsync(health, "Healthy", "keys", "ledger");
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (status, report.GetProperty("status").GetString()));

        // The admin API works again by itself, and a key created through it reaches the other instance within a second.
        var created = await UntilCreatedAsync(a.BaseUrl, "carol", TimeSpan.FromSeconds(20));
        await PostgresGatewaysTests.TimeUntilStatusAsync(b.BaseUrl, created, HttpStatusCode.OK, TimeSpan.FromSeconds(1));
        Assert.All(await ChatAsync(b.BaseUrl, created, 3), s => Assert.Equal(HttpStatusCode.OK, s));
        using (var admin = ServeTests.Admin(b.BaseUrl))
        using (var revoke = await admin.DeleteAsync($"admin/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }
        await PostgresGatewaysTests.TimeUntilStatusAsync(a.BaseUrl, key, HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(1));

        // The 30 calls relayed during the outage were kept in each instance's ledger buffer and written once the
        // database was back: none lost, none twice.
        using (var admin = ServeTests.Admin(a.BaseUrl))
        {
            var clock = Stopwatch.StartNew();
            long requests;
            while (true)
            {
                using var usage = JsonDocument.Parse(await admin.GetStringAsync($"admin/usage?key={id}&days=1&group_by=key"));
                requests = usage.RootElement.GetProperty("totals").GetProperty("requests").GetInt64();
                if (requests >= 30 || clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    break;
                }
                await Task.Delay(200);
            }
            Assert.Equal(30, requests);
        }
    }

    private static async Task<List<HttpStatusCode>> ChatAsync(string baseUrl, string key, int count)
    {
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl + "/"), Timeout = Quick };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            using var response = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
            statuses.Add(response.StatusCode);
        }
        return statuses;
    }

    private static async Task AssertUnavailableAsync(Func<Task<HttpResponseMessage>> call)
    {
        var clock = Stopwatch.StartNew();
        using var response = await call().WaitAsync(Quick);
        Assert.True(clock.Elapsed < Quick, $"took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "no Retry-After");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("database_unavailable", error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Contains("key database is unavailable", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Creates a key, retrying while the admin API answers 503; returns the key.</summary>
    private static async Task<string> UntilCreatedAsync(string baseUrl, string name, TimeSpan limit)
    {
        using var admin = ServeTests.Admin(baseUrl);
        admin.Timeout = Quick;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await admin.PostAsJsonAsync("admin/keys", new { name });
            if (response.StatusCode == HttpStatusCode.Created)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                return json.RootElement.GetProperty("key").GetString()!;
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(clock.Elapsed < limit, $"the admin API still answered 503 {limit.TotalSeconds} s after PostgreSQL was back");
            await Task.Delay(100);
        }
    }

    private static int Count(string log, string pattern) => Regex.Count(log, pattern);
}
