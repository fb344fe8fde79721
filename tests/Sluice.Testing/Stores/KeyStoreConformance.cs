using System.Collections.Concurrent;
using Sluice.Core.Keys;

namespace Sluice.Testing.Stores;

/// <summary>
/// What every key store backend must do, proven the same way for each (SQLite, PostgreSQL): keys round-trip with
/// every field, revocation keeps its first time, secrets and ids are unique, and change numbers let a poller that
/// remembers the highest number it saw find every change, also while several store instances (as several gateway
/// processes would) write at once. A backend's test class derives from this and says how to make a store.
/// </summary>
public abstract class KeyStoreConformance
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store on this test's own database; several calls give instances sharing that database.</summary>
    protected abstract Task<IKeyStore> CreateStoreAsync();

    private static ApiKey NewKey(string name = "alice", int minute = 0, string plan = "free") =>
        NewApiKey.Create(name, plan, Start.AddMinutes(minute)).Key;

    [Fact]
    public async Task Add_ThenFindAndList_EveryFieldRoundTrips()
    {
        var store = await CreateStoreAsync();
        var key = NewKey("Zoë 日本 \"quoted\"", plan: "paid") with { Created = Start.AddMilliseconds(123) };

        var stored = await store.AddAsync(key, CancellationToken.None);

        Assert.True(stored.Version > 0, $"version {stored.Version}");
        Assert.Equal(key with { Version = stored.Version }, stored);
        Assert.Equal(stored, await store.FindAsync(key.Id, CancellationToken.None));
        Assert.Equal([stored], await store.ListAsync(CancellationToken.None));
        Assert.False(stored.IsRevoked);
    }

    [Fact]
    public async Task Add_AlreadyRevokedKey_KeepsItsRevocationTime()
    {
        var store = await CreateStoreAsync();
        var key = NewKey() with { Revoked = Start.AddDays(1) };

        var stored = await store.AddAsync(key, CancellationToken.None);

        Assert.Equal(Start.AddDays(1), (await store.FindAsync(key.Id, CancellationToken.None))!.Revoked);
        Assert.True(stored.IsRevoked);
    }

    [Fact]
    public async Task FindAndRevoke_UnknownId_ReturnNullAndChangeNothing()
    {
        var store = await CreateStoreAsync();
        var known = await store.AddAsync(NewKey(), CancellationToken.None);

        Assert.Null(await store.FindAsync("key_missing", CancellationToken.None));
        Assert.Null(await store.RevokeAsync("key_missing", Start, CancellationToken.None));

        Assert.Equal([known], await store.ChangedSinceAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task Revoke_Twice_KeepsTheFirstTime_AndEachChangeHasAHigherVersion()
    {
        var store = await CreateStoreAsync();
        var added = await store.AddAsync(NewKey(), CancellationToken.None);

        var first = await store.RevokeAsync(added.Id, Start.AddHours(1), CancellationToken.None);
        var second = await store.RevokeAsync(added.Id, Start.AddHours(2), CancellationToken.None);

        Assert.Equal(Start.AddHours(1), first!.Revoked);
        Assert.Equal(Start.AddHours(1), second!.Revoked);
        Assert.True(first.Version > added.Version);
        Assert.True(second.Version >= first.Version);
        Assert.Equal(Start.AddHours(1), (await store.FindAsync(added.Id, CancellationToken.None))!.Revoked);
        Assert.Equal((added with { Revoked = Start.AddHours(1) }).Hash, second.Hash);
    }

    [Fact]
    public async Task Update_ChangesNameOrPlan_KeepsTheRest_WithAHigherVersionSeenAsAChange()
    {
        var store = await CreateStoreAsync();
        var added = await store.AddAsync(NewKey("before"), CancellationToken.None);
        var other = await store.AddAsync(NewKey("other"), CancellationToken.None);

        var moved = await store.UpdateAsync(added.Id, null, "pro", CancellationToken.None);
        var renamed = await store.UpdateAsync(added.Id, "after", null, CancellationToken.None);

        Assert.Equal(added with { Plan = "pro", Version = moved!.Version }, moved);
        Assert.Equal(added with { Plan = "pro", Name = "after", Version = renamed!.Version }, renamed);
        Assert.True(moved.Version > other.Version);
        Assert.True(renamed.Version > moved.Version);
        Assert.Equal(renamed, await store.FindAsync(added.Id, CancellationToken.None));
        Assert.Equal([renamed], await store.ChangedSinceAsync(other.Version, CancellationToken.None));
        Assert.Equal(other, await store.FindAsync(other.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Update_UnknownId_ReturnsNullAndChangesNothing()
    {
        var store = await CreateStoreAsync();
        var known = await store.AddAsync(NewKey(), CancellationToken.None);

        Assert.Null(await store.UpdateAsync("key_missing", "x", "pro", CancellationToken.None));

        Assert.Equal([known], await store.ChangedSinceAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task Add_SameSecretUnderAnotherId_IsRejected_AndOnlyTheFirstIsStored()
    {
        var store = await CreateStoreAsync();
        var first = await store.AddAsync(NewKey("first"), CancellationToken.None);

        await Assert.ThrowsAnyAsync<Exception>(() => store.AddAsync(NewKey("second") with { Hash = first.Hash }, CancellationToken.None));

        Assert.Equal([first], await store.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Add_ExistingId_IsRejected_AndTheStoredKeyIsUnchanged()
    {
        var store = await CreateStoreAsync();
        var first = await store.AddAsync(NewKey("first"), CancellationToken.None);

        await Assert.ThrowsAnyAsync<Exception>(() => store.AddAsync(NewKey("impostor") with { Id = first.Id }, CancellationToken.None));

        Assert.Equal(first, await store.FindAsync(first.Id, CancellationToken.None));
    }

    [Fact]
    public async Task List_IsOrderedByCreationThenId()
    {
        var store = await CreateStoreAsync();
        var late = await store.AddAsync(NewKey("late", minute: 5), CancellationToken.None);
        var early = await store.AddAsync(NewKey("early", minute: 1), CancellationToken.None);
        var tieB = await store.AddAsync(NewKey("tie", minute: 3) with { Id = "key_b" }, CancellationToken.None);
        var tieA = await store.AddAsync(NewKey("tie", minute: 3) with { Id = "key_a" }, CancellationToken.None);

        Assert.Equal([early.Id, tieA.Id, tieB.Id, late.Id], (await store.ListAsync(CancellationToken.None)).Select(k => k.Id));
    }

    [Fact]
    public async Task ChangedSince_ReturnsExactlyTheChangesAfterAVersion_OldestFirst_WithTheLatestState()
    {
        var store = await CreateStoreAsync();
        var a = await store.AddAsync(NewKey("a"), CancellationToken.None);
        var b = await store.AddAsync(NewKey("b"), CancellationToken.None);
        var c = await store.AddAsync(NewKey("c"), CancellationToken.None);
        var revokedA = await store.RevokeAsync(a.Id, Start.AddHours(1), CancellationToken.None);

        Assert.True(a.Version < b.Version && b.Version < c.Version && c.Version < revokedA!.Version);
        Assert.Equal([b, c, revokedA], await store.ChangedSinceAsync(0, CancellationToken.None));
        Assert.Equal([c, revokedA], await store.ChangedSinceAsync(b.Version, CancellationToken.None));
        Assert.Empty(await store.ChangedSinceAsync(revokedA.Version, CancellationToken.None));
    }

    [Fact]
    public async Task ConcurrentAdds_FromSeveralStoreInstances_GetDistinctIncreasingVersions()
    {
        var stores = new List<IKeyStore>();
        for (var i = 0; i < 4; i++)
        {
            stores.Add(await CreateStoreAsync());
        }
        var added = new ConcurrentBag<ApiKey>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
            added.Add(await stores[i % stores.Count].AddAsync(NewKey("k" + i, minute: i), token)));

        Assert.Equal(100, added.Select(k => k.Version).Distinct().Count());
        var listed = await stores[0].ListAsync(CancellationToken.None);
        Assert.Equal(100, listed.Count);
        Assert.Equal(added.OrderBy(k => k.Id, StringComparer.Ordinal), listed.OrderBy(k => k.Id, StringComparer.Ordinal));
        var versions = (await stores[0].ChangedSinceAsync(0, CancellationToken.None)).Select(k => k.Version).ToList();
        Assert.Equal(versions.Order(), versions);
    }

    [Fact]
    public async Task ChangedSince_PolledWhileSeveralInstancesWrite_ADirectoryFollowingItMissesNoChange()
    {
        // What each gateway does: remember the highest version applied, ask for everything after it. If a change
        // could become visible after a higher-numbered one, the poller would skip it for good.
        var writers = new List<IKeyStore>();
        for (var i = 0; i < 4; i++)
        {
            writers.Add(await CreateStoreAsync());
        }
        var reader = await CreateStoreAsync();
        var directory = new KeyDirectory();
        using var writing = new CancellationTokenSource();

        var poller = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                directory.Apply(await reader.ChangedSinceAsync(directory.Version, CancellationToken.None));
            }
        });
        await Parallel.ForEachAsync(Enumerable.Range(0, 120), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (i, token) =>
        {
            var store = writers[i % writers.Count];
            var key = await store.AddAsync(NewKey("k" + i, minute: i), token);
            if (i % 3 == 0)
            {
                await store.RevokeAsync(key.Id, Start.AddDays(1), token);
            }
        });
        await writing.CancelAsync();
        await poller.WaitAsync(TimeSpan.FromSeconds(30));
        // One more poll after the writers are done: only what the cursor skipped could be missing now.
        directory.Apply(await reader.ChangedSinceAsync(directory.Version, CancellationToken.None));

        var stored = await reader.ListAsync(CancellationToken.None);
        Assert.Equal(120, stored.Count);
        Assert.Equal(120, directory.Count);
        foreach (var key in stored)
        {
            Assert.Equal(key, directory.FindById(key.Id));
        }
        Assert.Equal(40, stored.Count(k => k.IsRevoked));
    }
}
