using System.Collections.Concurrent;

namespace Sluice.Core.Keys;

/// <summary>
/// The in-memory view of every key, looked up by hash on each request without touching storage.
/// Reads are lock-free; changes (rare) are applied under a lock so that an older version of a key
/// never replaces a newer one.
/// </summary>
public sealed class KeyDirectory
{
    private readonly Lock _writeLock = new();
    private readonly ConcurrentDictionary<KeyHash, ApiKey> _byHash = new();
    private readonly ConcurrentDictionary<string, ApiKey> _byId = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>The highest store version applied so far.</summary>
    public long Version => Volatile.Read(ref _version);

    public int Count => _byId.Count;

    /// <summary>Finds a key by the hash of the presented secret; revoked keys are found too.</summary>
    public ApiKey? Find(KeyHash hash) => _byHash.GetValueOrDefault(hash);

    public ApiKey? FindById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>Applies keys read from the store (new, changed or revoked).</summary>
    public void Apply(IEnumerable<ApiKey> changed)
    {
        lock (_writeLock)
        {
            foreach (var key in changed)
            {
                if (_byId.TryGetValue(key.Id, out var existing) && existing.Version > key.Version)
                {
                    continue;
                }
                _byId[key.Id] = key;
                _byHash[key.Hash] = key;
                if (key.Version > _version)
                {
                    Volatile.Write(ref _version, key.Version);
                }
            }
        }
    }
}
