using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sluice.FakeUpstream;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>
/// Two gateway processes on one PostgreSQL database, each with a data directory of its own (so nothing but the database
/// is shared): a key created or revoked through either is honoured by the other within one second.
/// </summary>
public sealed class PostgresGatewaysTests : IAsyncLifetime
{
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    private readonly TestResources _resources = new();
    private readonly List<string> _dataDirs = [];
    private readonly List<SluiceProcess> _gateways = [];
    private TestDatabase? _database;
    private FakeUpstreamServer? _upstream;

    public async Task InitializeAsync()
    {
        try
        {
            _database = _resources.Own(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
            _upstream = _resources.Own(await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false }));
            // Both start at once on an empty database: they take turns at the migration (advisory lock).
            Task<SluiceProcess>[] starts = [StartGateway(), StartGateway()];
            try
            {
                await Task.WhenAll(starts);
            }
            finally
            {
                _gateways.AddRange(starts.Where(t => t.IsCompletedSuccessfully).Select(t => _resources.Own(t.Result)));
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

    private Task<SluiceProcess> StartGateway()
    {
        var dataDir = _resources.NewDataDir("sluice-pg-gw-");
        _dataDirs.Add(dataDir);
        return SluiceProcess.ServeAsync("--data-dir", dataDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken",
            "--postgres", _database!.ConnectionString, "--Logging:LogLevel:Sluice.Requests=Warning");
    }

    [Fact]
    public async Task KeyCreatedThroughOneInstance_WorksOnTheOtherWithinOneSecond_RevokedThroughTheOther_RefusedOnTheFirstWithinOneSecond()
    {
        var (a, b) = (_gateways[0], _gateways[1]);
        var (id, key) = await CreateKeyAsync(a.BaseUrl, "alice");
        var reached = await TimeUntilStatusAsync(b.BaseUrl, key, HttpStatusCode.OK, OneSecond);

        using (var admin = ServeTests.Admin(b.BaseUrl))
        using (var revoke = await admin.DeleteAsync($"admin/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }
        var refused = await TimeUntilStatusAsync(a.BaseUrl, key, HttpStatusCode.Unauthorized, OneSecond);

        Assert.True(reached < OneSecond && refused < OneSecond, $"created → usable elsewhere in {reached.TotalMilliseconds} ms, revoked → refused elsewhere in {refused.TotalMilliseconds} ms");
        using var list = JsonDocument.Parse(await ServeTests.Admin(a.BaseUrl).GetStringAsync("admin/keys"));
        var listed = Assert.Single(list.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("revoked").ValueKind);
    }

    [Fact]
    public async Task ManyKeysCreatedThroughBothInstances_EveryOneWorksOnBoth()
    {
        var keys = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            keys.Add((await CreateKeyAsync(_gateways[i % 2].BaseUrl, "user" + i)).Key);
        }
        foreach (var gateway in _gateways)
        {
            foreach (var key in keys)
            {
                await TimeUntilStatusAsync(gateway.BaseUrl, key, HttpStatusCode.OK, OneSecond);
            }
        }
    }

    [Fact]
    public async Task CallsThroughAPostgresGateway_AreMetered_TheStoresNotInPostgresYetStillWork()
    {
        // The usage ledger has no PostgreSQL backend yet and stays in the data directory's SQLite file: its schema
        // must be there with --postgres too, or no call would ever reach the usage report.
        var gateway = _gateways[0];
        var (_, key) = await CreateKeyAsync(gateway.BaseUrl, "metered");
        using (var client = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl + "/") })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            for (var i = 0; i < 2; i++)
            {
                using var response = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        using var admin = ServeTests.Admin(gateway.BaseUrl);
        var clock = Stopwatch.StartNew();
        long requests;
        while (true)
        {
            using var usage = JsonDocument.Parse(await admin.GetStringAsync("admin/usage"));
            requests = usage.RootElement.GetProperty("totals").GetProperty("requests").GetInt64();
            if (requests >= 2 || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                break;
            }
            await Task.Delay(100);
        }
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task InvalidPostgresConnectionString_ExitsWithCode2_ListingEveryProblem()
    {
        var (exitCode, _, errors) = await SluiceProcess.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--data-dir", _dataDirs[0],
            "--postgres", "Host=127.0.0.1;Colour=blue", "--Sluice:Postgres:StartTimeout=-00:00:01", "--upstream", "not a url");

        Assert.Equal(2, exitCode);
        Assert.Contains("3 problem(s)", errors, StringComparison.Ordinal);
        Assert.Contains("Sluice:Postgres:ConnectionString is not a valid Npgsql connection string", errors, StringComparison.Ordinal);
        Assert.Contains("Sluice:Postgres:StartTimeout", errors, StringComparison.Ordinal);
    }

    internal static async Task<(string Id, string Key)> CreateKeyAsync(string baseUrl, string name)
    {
        using var admin = ServeTests.Admin(baseUrl);
        using var response = await admin.PostAsJsonAsync("admin/keys", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("key").GetString()!);
    }

    /// <summary>How long until <c>GET /v1/models</c> with <paramref name="key"/> (authenticated, never counted) answers
    /// <paramref name="expected"/>; fails once <paramref name="limit"/> has passed.</summary>
    internal static async Task<TimeSpan> TimeUntilStatusAsync(string baseUrl, string key, HttpStatusCode expected, TimeSpan limit)
    {
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl + "/"), Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var probe = await client.GetAsync("v1/models");
            if (probe.StatusCode == expected)
            {
                return clock.Elapsed;
            }
            Assert.True(clock.Elapsed < limit, $"{baseUrl} still answered {(int)probe.StatusCode} instead of {(int)expected} after {limit.TotalSeconds} s");
            await Task.Delay(20);
        }
    }
}
