using System.Net;
using Microsoft.Data.Sqlite;

namespace Sluice.Gateway.Tests.Functional;

/// <summary><c>/healthz</c> says how each part of the gateway is: the key store's sync, the ledger writer and the limiter
/// (the Redis limiter's outage is in <see cref="RedisOutageTests"/>).</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Healthz_AllWell_ListsEachComponent()
    {
        await using var relay = await RelayFixture.StartAsync();
        await relay.Gateway.CreateKeyAsync();

        var (status, report) = await relay.Gateway.HealthAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        var components = report.GetProperty("components");
        foreach (var name in new[] { "keys", "ledger", "limiter" })
        {
            Assert.Equal("Healthy", components.GetProperty(name).GetProperty("status").GetString());
        }
        Assert.StartsWith("1 key,", components.GetProperty("keys").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("embedded", components.GetProperty("limiter").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LedgerDatabaseLocked_Degraded_ThenHealthyAgain_AndTheCallIsInTheLedger()
    {
        await using var relay = await RelayFixture.StartAsync();
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        await using var locked = await LockDatabaseAsync(relay);

        // The user's call is answered as ever; its ledger row waits.
        using var response = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ledger = await relay.Gateway.HealthOnceAsync("ledger", "Degraded");
        Assert.Equal("Degraded", ledger.GetProperty("status").GetString());
        Assert.Contains("Writing the usage ledger", ledger.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("none is lost", ledger.GetProperty("description").GetString(), StringComparison.Ordinal);
        var (status, report) = await relay.Gateway.HealthAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", report.GetProperty("status").GetString());

        await locked.DisposeAsync();

        Assert.Equal("Healthy", (await relay.Gateway.HealthOnceAsync("ledger", "Healthy")).GetProperty("status").GetString());
        var row = await MeteringTests.LedgerRow(relay, response);
        Assert.Equal(200, row.Status);
    }

    [Fact]
    public async Task LedgerBufferFull_Unhealthy503_UntilTheDatabaseTakesTheRows()
    {
        // Room for one row: the first call's row is in the batch being retried, the second's fills the buffer; a third
        // call would wait for room, which is what Unhealthy warns of.
        await using var relay = await RelayFixture.StartAsync(new Dictionary<string, string?> { ["Sluice:Metering:BufferCapacity"] = "1" });
        var (_, key) = await relay.Gateway.CreateKeyAsync();
        using var client = relay.Gateway.ClientFrom(2, key);
        await using var locked = await LockDatabaseAsync(relay);
        using var first = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());
        await relay.Gateway.HealthOnceAsync("ledger", "Degraded");
        using var second = await client.PostAsync("v1/chat/completions", RelayFixture.Chat());

        Assert.Equal("Unhealthy", (await relay.Gateway.HealthOnceAsync("ledger", "Unhealthy")).GetProperty("status").GetString());
        var (status, report) = await relay.Gateway.HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", report.GetProperty("status").GetString());

        await locked.DisposeAsync();
        Assert.Equal("Healthy", (await relay.Gateway.HealthOnceAsync("ledger", "Healthy")).GetProperty("status").GetString());
        Assert.Equal(200, (await MeteringTests.LedgerRow(relay, first)).Status);
        Assert.Equal(200, (await MeteringTests.LedgerRow(relay, second)).Status);
    }

    /// <summary>Another writer holds the embedded database's write lock (as a backup tool or a query run by hand could)
    /// until the returned lock is disposed.</summary>
    private static async Task<DatabaseLock> LockDatabaseAsync(RelayFixture relay)
    {
        var holder = new SqliteConnection($"Data Source={Path.Combine(relay.Gateway.DataDir, "sluice.db")};Pooling=False");
        await holder.OpenAsync();
        // Deferred would take no lock until its first write; IMMEDIATE takes the write lock now.
        return new DatabaseLock(holder, holder.BeginTransaction(deferred: false));
    }

    private sealed class DatabaseLock(SqliteConnection connection, SqliteTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
