using System.Diagnostics;
using Sluice.Core.Keys;
using Sluice.Core.Storage;
using Sluice.Testing.Servers;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>PostgreSQL stopped under the store: every call fails fast as <see cref="StoreUnavailableException"/>
/// (the admin API's 503), never hangs, never leaks the password; after a restart the very first call works again.</summary>
public sealed class PostgresOutageTests
{
    [Fact]
    public async Task ServerStopped_EveryCallIsStoreUnavailableWithinSeconds_ThenTheFirstCallAfterTheRestartWorks()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await server.CreateDatabaseAsync();
        await using var postgres = new PostgresDatabase(database.ConnectionString);
        await postgres.MigrateAsync(CancellationToken.None);
        var store = new PostgresKeyStore(postgres);
        var known = await store.AddAsync(NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        // Pooled connections exist now; the server going away breaks them.
        Assert.Single(await store.ListAsync(CancellationToken.None));

        await server.StopAsync();

        var clock = Stopwatch.StartNew();
        var failures = new List<StoreUnavailableException>
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ListAsync(CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.FindAsync(known.Id, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AddAsync(NewApiKey.Create("bob", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.RevokeAsync(known.Id, DateTimeOffset.UnixEpoch, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ChangedSinceAsync(0, CancellationToken.None)),
            await Assert.ThrowsAsync<StoreUnavailableException>(() => postgres.MigrateAsync(CancellationToken.None)),
        };
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"six calls to a stopped server took {clock.Elapsed}");
        Assert.All(failures, f => Assert.Contains("unavailable", f.Message, StringComparison.Ordinal));

        await server.StartAgainAsync();

        Assert.Equal([known], await store.ListAsync(CancellationToken.None));
        var bob = await store.AddAsync(NewApiKey.Create("bob", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        Assert.Equal(2, (await store.ListAsync(CancellationToken.None)).Count);
        Assert.Equal(bob, await store.FindAsync(bob.Id, CancellationToken.None));
    }

    [Fact]
    public async Task ServerRestartedBetweenTwoCalls_TheNextCallWorks_OnAFreshConnection()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await server.CreateDatabaseAsync();
        await using var postgres = new PostgresDatabase(database.ConnectionString);
        await postgres.MigrateAsync(CancellationToken.None);
        var store = new PostgresKeyStore(postgres);
        var known = await store.AddAsync(NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);

        // Nobody calls while it is down: the pool still holds connections to the server that is gone.
        await server.StopAsync();
        await server.StartAgainAsync();

        Assert.Equal(known, await store.FindAsync(known.Id, CancellationToken.None));
        await server.StopAsync();
        await server.StartAgainAsync();
        var bob = await store.AddAsync(NewApiKey.Create("bob", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        Assert.Equal(new[] { known, bob }.OrderBy(k => k.Id, StringComparer.Ordinal), await store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task NothingListening_IsStoreUnavailable_AndTheMessageNeverShowsThePassword()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var postgres = new PostgresDatabase($"Host=127.0.0.1;Port={port};Username=sluice;Password=hunter2-secret;Database=sluice");
        var store = new PostgresKeyStore(postgres);

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ListAsync(CancellationToken.None));

        Assert.Contains($"127.0.0.1:{port}/sluice", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }
}
