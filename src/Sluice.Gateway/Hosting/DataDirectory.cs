using Microsoft.Extensions.Options;

namespace Sluice.Gateway.Hosting;

/// <summary>The data directory and the files Sluice keeps in it.</summary>
public sealed class DataDirectory
{
    public DataDirectory(IOptions<SluiceOptions> options)
    {
        FullPath = Path.GetFullPath(options.Value.DataDir, Environment.CurrentDirectory);
    }

    public string FullPath { get; }

    public string DatabasePath => Path.Combine(FullPath, "sluice.db");

    public string LimiterSnapshotPath => Path.Combine(FullPath, "limiter.snapshot");

    public string AdminTokenPath => Path.Combine(FullPath, "admin-token");

    /// <summary>Creates the directory (readable by its owner only) if it does not exist.</summary>
    public void EnsureExists()
    {
        if (!Directory.Exists(FullPath))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(FullPath);
            }
            else
            {
                Directory.CreateDirectory(FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }
}
