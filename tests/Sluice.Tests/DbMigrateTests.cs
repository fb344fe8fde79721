using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Sluice.FakeUpstream;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>
/// <c>sluice db migrate</c>: an embedded installation (keys made through a SQLite gateway) copied into PostgreSQL, where
/// a gateway then honours exactly the same keys; a second run changes nothing; failures say why and exit non-zero.
/// </summary>
public sealed class DbMigrateTests : IAsyncLifetime
{
    private readonly TestResources _resources = new();
    private readonly string _sqliteDir;
    private readonly string _postgresDir;
    private TestDatabase? _database;
    private FakeUpstreamServer? _upstream;

    public DbMigrateTests()
    {
        _sqliteDir = _resources.NewDataDir("sluice-mig-sqlite-");
        _postgresDir = _resources.NewDataDir("sluice-mig-pg-");
    }

    public async Task InitializeAsync()
    {
        try
        {
            _database = _resources.Own(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync());
            _upstream = _resources.Own(await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false }));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync() => await _resources.ReleaseAsync();

    [Fact]
    public async Task Migrate_EmbeddedInstallation_EveryKeyWorksOnAPostgresGateway_AndASecondRunChangesNothing()
    {
        var keys = new Dictionary<string, string>();
        string revokedId;
        await using (var embedded = await SluiceProcess.ServeAsync("--data-dir", _sqliteDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken"))
        {
            foreach (var name in new[] { "alice", "bob", "carol" })
            {
                var (id, key) = await PostgresGatewaysTests.CreateKeyAsync(embedded.BaseUrl, name);
                keys[id] = key;
            }
            revokedId = keys.Keys.ElementAt(1);
            using var admin = ServeTests.Admin(embedded.BaseUrl);
            // Usage and money to carry over: two metered calls by alice, a top-up for carol.
            for (var i = 0; i < 2; i++)
            {
                using var call = await ChatAsync(embedded.BaseUrl, keys.Values.First());
                Assert.Equal(HttpStatusCode.OK, call.StatusCode);
            }
            using (var credit = await admin.PostAsJsonAsync($"admin/keys/{keys.Keys.ElementAt(2)}/credit", new { amount_usd = 5.25m, note = "before the move" }))
            {
                Assert.Equal(HttpStatusCode.OK, credit.StatusCode);
            }
            using var revoke = await admin.DeleteAsync($"admin/keys/{revokedId}");
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.Equal(0, await embedded.TerminateAsync());
        }

        var first = await SluiceProcess.RunAsync("db", "migrate", "--from", Path.Combine(_sqliteDir, "sluice.db"), "--to", _database!.ConnectionString);
        var second = await SluiceProcess.RunAsync("db", "migrate", "--from", _sqliteDir, "--to", _database.ConnectionString);

        Assert.True(first.ExitCode == 0, first.Errors + first.Output);
        Assert.Contains("Copied 3 key(s)", first.Output, StringComparison.Ordinal);
        Assert.Contains("3 added", first.Output, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.Errors + second.Output);
        Assert.Contains("0 added, 0 revocation(s) carried over, 3 already there", second.Output, StringComparison.Ordinal);
        Assert.Contains("Copied 2 ledger row(s): 2 added, 0 already there", first.Output, StringComparison.Ordinal);
        Assert.Contains("Copied 1 balance(s) with their history: 1 added", first.Output, StringComparison.Ordinal);
        Assert.Contains("Copied 2 ledger row(s): 0 added, 2 already there", second.Output, StringComparison.Ordinal);
        Assert.Contains("Copied 1 balance(s) with their history: 0 added, 1 already there", second.Output, StringComparison.Ordinal);

        await using var shared = await SluiceProcess.ServeAsync("--data-dir", _postgresDir, "--upstream", _upstream.BaseUrl, "--admin-token", "t0ken",
            "--postgres", _database.ConnectionString);
        using (var list = JsonDocument.Parse(await ServeTests.Admin(shared.BaseUrl).GetStringAsync("admin/keys")))
        {
            var listed = list.RootElement.GetProperty("data").EnumerateArray().ToList();
            Assert.Equal(keys.Keys.Order(StringComparer.Ordinal), listed.Select(k => k.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
            Assert.Equal([revokedId], listed.Where(k => k.GetProperty("revoked").ValueKind != JsonValueKind.Null).Select(k => k.GetProperty("id").GetString()));
        }
        using (var usage = JsonDocument.Parse(await ServeTests.Admin(shared.BaseUrl).GetStringAsync("admin/usage")))
        {
            var rows = usage.RootElement.GetProperty("data").EnumerateArray().ToList();
            var alice = Assert.Single(rows);
            Assert.Equal(keys.Keys.First(), alice.GetProperty("key_id").GetString());
            Assert.Equal(2, alice.GetProperty("requests").GetInt64());
            Assert.True(alice.GetProperty("completion_tokens").GetInt64() > 0);
        }
        using (var balance = JsonDocument.Parse(await ServeTests.Admin(shared.BaseUrl).GetStringAsync($"admin/keys/{keys.Keys.ElementAt(2)}/balance")))
        {
            Assert.Equal(5.25m, balance.RootElement.GetProperty("balance_usd").GetDecimal());
            var change = Assert.Single(balance.RootElement.GetProperty("history").EnumerateArray());
            Assert.Equal("before the move", change.GetProperty("note").GetString());
            Assert.Equal(5.25m, change.GetProperty("balance_after_usd").GetDecimal());
        }
        foreach (var (id, key) in keys)
        {
            using var client = new HttpClient { BaseAddress = new Uri(shared.BaseUrl + "/") };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
            Assert.Equal(id == revokedId ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task<HttpResponseMessage> ChatAsync(string baseUrl, string key)
    {
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await client.PostAsJsonAsync("v1/chat/completions", new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } });
    }

    [Fact]
    public async Task Migrate_PostgresUnreachable_ExitsNonZero_SayingWhy()
    {
        await using (var embedded = await SluiceProcess.ServeAsync("--data-dir", _sqliteDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken"))
        {
            await PostgresGatewaysTests.CreateKeyAsync(embedded.BaseUrl, "alice");
        }
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var (exitCode, _, errors) = await SluiceProcess.RunAsync("db", "migrate", "--from", _sqliteDir, "--to", $"Host=127.0.0.1;Port={port};Username=x;Password=secret-pw");

        Assert.Equal(1, exitCode);
        Assert.Contains($"Cannot reach PostgreSQL at 127.0.0.1:{port}", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_NoSuchSqliteFile_ExitsNonZero_SayingWhere()
    {
        var (exitCode, _, errors) = await SluiceProcess.RunAsync("db", "migrate", "--from", Path.Combine(_sqliteDir, "nothing-here.db"), "--to", _database!.ConnectionString);

        Assert.Equal(2, exitCode);
        Assert.Contains("No embedded key database at", errors, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_sqliteDir, "nothing-here.db")));
    }
}
