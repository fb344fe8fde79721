using System.Diagnostics;
using System.Net;
using Sluice.FakeUpstream;
using Sluice.Testing.Servers;

namespace Sluice.Tests;

/// <summary>Starting a gateway while PostgreSQL is not up yet (as when both start together): it waits for the database
/// up to <c>Sluice:Postgres:StartTimeout</c>, then serves; if the database never comes, it exits saying why.</summary>
public sealed class PostgresStartTests : IAsyncLifetime
{
    private readonly TestResources _resources = new();
    private readonly string _dataDir;
    private PostgresServer? _server;
    private TestDatabase? _database;
    private FakeUpstreamServer? _upstream;

    public PostgresStartTests()
    {
        _dataDir = _resources.NewDataDir("sluice-pg-start-");
    }

    public async Task InitializeAsync()
    {
        try
        {
            // The server owns its databases: disposing it is enough.
            _server = _resources.Own(await PostgresServer.StartAsync());
            _database = await _server.CreateDatabaseAsync();
            _upstream = _resources.Own(await FakeUpstreamServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false }));
            await _server.StopAsync();
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
    public async Task DatabaseComesUpWhileTheGatewayStarts_TheGatewayWaitsForIt_ThenServes()
    {
        var starting = SluiceProcess.ServeAsync("--data-dir", _dataDir, "--upstream", _upstream!.BaseUrl, "--admin-token", "t0ken",
            "--postgres", _database!.ConnectionString, "--Sluice:Postgres:StartTimeout=00:00:20");
        try
        {
            // The SQLite file is made just before the first attempt on PostgreSQL: from then on, it is trying.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(_dataDir, "sluice.db")))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the gateway did not get as far as its database within 30 s");
                await Task.Delay(50);
            }
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(starting.IsCompleted, "the gateway answered before its database was up");

            await _server!.StartAgainAsync();
            var gateway = await starting.WaitAsync(TimeSpan.FromSeconds(30));

            var (_, key) = await PostgresGatewaysTests.CreateKeyAsync(gateway.BaseUrl, "alice");
            await PostgresGatewaysTests.TimeUntilStatusAsync(gateway.BaseUrl, key, HttpStatusCode.OK, TimeSpan.FromSeconds(1));
            Assert.Contains("cannot be reached yet", gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            // ServeAsync gives up by itself after 30 s; whatever it started goes.
            if (await Task.WhenAny(starting, Task.Delay(TimeSpan.FromSeconds(40))) == starting && starting.IsCompletedSuccessfully)
            {
                await (await starting).DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task DatabaseNeverComes_TheGatewayGivesUpAfterTheStartTimeout_SayingWhy()
    {
        var clock = Stopwatch.StartNew();
        var (exitCode, output, errors) = await SluiceProcess.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--data-dir", _dataDir,
            "--upstream", _upstream!.BaseUrl, "--postgres", _database!.ConnectionString, "--Sluice:Postgres:StartTimeout=00:00:02");

        Assert.NotEqual(0, exitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"gave up only after {clock.Elapsed}");
        Assert.Contains($"Sluice cannot start: PostgreSQL 127.0.0.1:{_server!.Port}/{_database.Name}", output + errors, StringComparison.Ordinal);
    }
}
