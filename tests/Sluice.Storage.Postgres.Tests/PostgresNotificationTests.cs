using System.Diagnostics;
using Sluice.Core.Keys;
using Sluice.Testing.Servers;

namespace Sluice.Storage.Postgres.Tests;

/// <summary>
/// LISTEN/NOTIFY: a key written through one instance reaches another instance's in-memory directory within a second,
/// with no polling at all; after the server restarts, the listener reconnects by itself, catches up on what it missed,
/// and says so once in the log instead of at every retry.
/// </summary>
public sealed class PostgresNotificationTests
{
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    /// <summary>An instance that only listens: its own pool, store, directory and listener; no poll.</summary>
    private sealed class Listening : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public Listening(string connectionString)
        {
            Database = new PostgresDatabase(connectionString);
            Directory = new KeyDirectory();
            Listener = new PostgresChangeListener(Database, [new KeyDirectoryChanges(new PostgresKeyStore(Database), Directory)], TimeProvider.System, Log);
            _run = Listener.RunAsync(_stop.Token);
        }

        public PostgresDatabase Database { get; }

        public KeyDirectory Directory { get; }

        public PostgresChangeListener Listener { get; }

        public ListLogger<PostgresChangeListener> Log { get; } = new();

        public async Task WaitUntilListeningAsync()
        {
            var deadline = Stopwatch.StartNew();
            while (!Listener.IsListening)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "the listener did not connect within 15 s");
                await Task.Delay(20);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
            _stop.Dispose();
            await Database.DisposeAsync();
        }
    }

    /// <summary>How long until <paramref name="condition"/> holds (checked every 5 ms); fails after <paramref name="limit"/>.</summary>
    private static async Task<TimeSpan> TimeUntilAsync(Func<bool> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < limit, $"{what} did not happen within {limit.TotalSeconds} s");
            await Task.Delay(5);
        }
        return clock.Elapsed;
    }

    [Fact]
    public async Task KeyAddedMovedAndRevokedThroughAnotherInstance_ReachesTheDirectoryWithinOneSecond()
    {
        await using var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        await using var writer = new PostgresDatabase(database.ConnectionString);
        await writer.MigrateAsync(CancellationToken.None);
        var store = new PostgresKeyStore(writer);
        await using var other = new Listening(database.ConnectionString);
        await other.WaitUntilListeningAsync();

        var added = await store.AddAsync(NewApiKey.Create("alice", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        await TimeUntilAsync(() => other.Directory.Find(added.Hash) is not null, OneSecond, "the new key reaching the other instance");

        await store.UpdateAsync(added.Id, null, "pro", CancellationToken.None);
        await TimeUntilAsync(() => other.Directory.Find(added.Hash)?.Plan == "pro", OneSecond, "the plan change reaching the other instance");

        await store.RevokeAsync(added.Id, DateTimeOffset.UnixEpoch.AddDays(1), CancellationToken.None);
        await TimeUntilAsync(() => other.Directory.Find(added.Hash)?.IsRevoked == true, OneSecond, "the revocation reaching the other instance");

        Assert.Equal(1, other.Directory.Count);
        Assert.Empty(other.Log.Entries);
    }

    [Fact]
    public async Task DirectoryThatAppliedItsOwnNewerWriteFirst_StillGetsTheOlderKeyWrittenThroughAnotherInstance()
    {
        // Instance B creates a key (version 2) while A's key (version 1) is still on its way to B; B's admin API
        // puts its own key into B's directory at once. Catching up must still bring A's key.
        await using var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        await using var a = new PostgresDatabase(database.ConnectionString);
        await using var b = new PostgresDatabase(database.ConnectionString);
        await a.MigrateAsync(CancellationToken.None);
        var storeA = new PostgresKeyStore(a);
        var storeB = new PostgresKeyStore(b);
        var directoryB = new KeyDirectory();
        var changesB = new KeyDirectoryChanges(storeB, directoryB);

        var fromA = await storeA.AddAsync(NewApiKey.Create("from a", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        var fromB = await storeB.AddAsync(NewApiKey.Create("from b", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        directoryB.Apply([fromB]);
        await changesB.CatchUpAsync(CancellationToken.None);

        Assert.Equal(fromA, directoryB.Find(fromA.Hash));
        Assert.Equal(fromB, directoryB.Find(fromB.Hash));
    }

    [Fact]
    public async Task ServerRestarts_TheListenerReconnects_CatchesUp_AndLogsTheOutageOnce()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await server.CreateDatabaseAsync();
        await using var writer = new PostgresDatabase(database.ConnectionString);
        await writer.MigrateAsync(CancellationToken.None);
        var store = new PostgresKeyStore(writer);
        await using var other = new Listening(database.ConnectionString);
        await other.WaitUntilListeningAsync();

        await server.StopAsync();
        await TimeUntilAsync(() => !other.Listener.IsListening, TimeSpan.FromSeconds(10), "the listener noticing the server stopped");
        // Several reconnect attempts fail meanwhile (the back-off starts at 250 ms).
        await Task.Delay(TimeSpan.FromSeconds(3));
        await server.StartAgainAsync();

        // Written at once, possibly before the listener is back: the catch-up on reconnect must bring it.
        var added = await store.AddAsync(NewApiKey.Create("after", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        await TimeUntilAsync(() => other.Directory.Find(added.Hash) is not null, TimeSpan.FromSeconds(5), "the key written after the restart reaching the other instance");
        await other.WaitUntilListeningAsync();
        var later = await store.AddAsync(NewApiKey.Create("later", "free", DateTimeOffset.UnixEpoch).Key, CancellationToken.None);
        await TimeUntilAsync(() => other.Directory.Find(later.Hash) is not null, OneSecond, "a key written once listening again reaching the other instance");

        Assert.Equal(1, other.Log.Count("ChangeListenerFailed"));
        Assert.Equal(1, other.Log.Count("ChangeListenerRecovered"));
    }
}
