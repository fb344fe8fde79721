namespace Sluice.Gateway.Tests;

/// <summary>The repository the tests run from, for files kept beside the code (documented configuration, the Node SDK's script).</summary>
internal static class TestRepository
{
    /// <summary>The folder holding <c>Sluice.slnx</c>, found above the test assembly.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Sluice.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Sluice.slnx not found above the test directory.");
    }
}
