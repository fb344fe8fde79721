using Sluice.Core.Keys;

namespace Sluice.Storage.Postgres;

/// <summary>
/// Keeps a <see cref="KeyDirectory"/> up to date from the key store when keys change in PostgreSQL.
/// </summary>
/// <remarks>
/// It remembers the highest change number it has read itself rather than using <see cref="KeyDirectory.Version"/>:
/// the admin API applies its own writes to the directory at once, which moves the directory's version past changes
/// made through other instances that have not arrived yet; reading from the directory's version would skip those
/// for good. The first catch-up reads every key (once per process).
/// </remarks>
public sealed class KeyDirectoryChanges : IPostgresChangeSubscriber
{
    private readonly IKeyStore _store;
    private readonly KeyDirectory _directory;
    private long _seen;

    public KeyDirectoryChanges(IKeyStore store, KeyDirectory directory)
    {
        _store = store;
        _directory = directory;
    }

    public string Channel => PostgresKeyStore.Channel;

    /// <summary>Called by one listener, one call at a time.</summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var changed = await _store.ChangedSinceAsync(_seen, cancellationToken);
        _directory.Apply(changed);
        foreach (var key in changed)
        {
            _seen = Math.Max(_seen, key.Version);
        }
    }
}
