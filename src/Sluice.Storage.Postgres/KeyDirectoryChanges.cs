using Sluice.Core.Keys;

namespace Sluice.Storage.Postgres;

/// <summary>Keeps a <see cref="KeyDirectory"/> up to date from the key store when keys change in PostgreSQL.</summary>
public sealed class KeyDirectoryChanges : IPostgresChangeSubscriber
{
    private readonly IKeyStore _store;
    private readonly KeyDirectory _directory;

    public KeyDirectoryChanges(IKeyStore store, KeyDirectory directory)
    {
        _store = store;
        _directory = directory;
    }

    public string Channel => PostgresKeyStore.Channel;

    public async Task CatchUpAsync(CancellationToken cancellationToken) =>
        _directory.Apply(await _store.ChangedSinceAsync(_directory.Version, cancellationToken));
}
