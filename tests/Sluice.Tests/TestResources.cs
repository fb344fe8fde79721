namespace Sluice.Tests;

/// <summary>
/// What a process-level test starts (servers, gateway processes) and the data folders it makes: disposed in the
/// reverse order of starting (gateways before the upstream and the database they use), and the folders deleted.
/// Releasing it after a failed initialisation too leaves no process behind (xunit does not dispose a test class
/// whose initialisation failed).
/// </summary>
internal sealed class TestResources
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<string> _dataDirs = [];

    /// <summary>Disposed with the test.</summary>
    public T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        lock (_owned)
        {
            _owned.Add(resource);
        }
        return resource;
    }

    /// <summary>A fresh folder path under the temp directory, deleted with the test.</summary>
    public string NewDataDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..10]);
        lock (_dataDirs)
        {
            _dataDirs.Add(dir);
        }
        return dir;
    }

    public async Task ReleaseAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
        _owned.Clear();
        foreach (var dir in _dataDirs.Where(Directory.Exists))
        {
            Directory.Delete(dir, recursive: true);
        }
        _dataDirs.Clear();
    }
}
