using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sluice.Core.Keys;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Admin;

/// <summary>
/// The admin token: the configured one, or one generated at first start and written to the data directory with
/// owner-only permissions. Compared in constant time.
/// </summary>
public sealed partial class AdminToken : IHostedService
{
    private static readonly UTF8Encoding NoByteOrderMark = new(encoderShouldEmitUTF8Identifier: false);

    private readonly AdminOptions _options;
    private readonly DataDirectory _dataDirectory;
    private readonly ILogger _logger;
    private byte[] _hash = [];

    public AdminToken(IOptions<AdminOptions> options, DataDirectory dataDirectory, ILogger<AdminToken> logger)
    {
        _options = options.Value;
        _dataDirectory = dataDirectory;
        _logger = logger;
    }

    public bool Matches(ReadOnlySpan<char> presented)
    {
        if (_hash.Length == 0 || presented.IsEmpty)
        {
            return false;
        }
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented.ToString()), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var token = _options.Token;
        if (string.IsNullOrWhiteSpace(token))
        {
            token = ReadOrCreate(_dataDirectory.AdminTokenPath, out var created);
            if (created)
            {
                LogGenerated(_logger, _dataDirectory.AdminTokenPath);
            }
            else
            {
                LogRead(_logger, _dataDirectory.AdminTokenPath);
            }
        }
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim()));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Reads the token file, or writes a new token readable by its owner only.</summary>
    public static string ReadOrCreate(string path, out bool created)
    {
        if (File.Exists(path))
        {
            created = false;
            var bytes = File.ReadAllBytes(path);
            var text = Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF').Trim();
            if (bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble))
            {
                // Written with a byte-order mark before 2026-11-30, which a shell reading the file would send: drop it.
                File.WriteAllText(path, text + "\n", NoByteOrderMark);
            }
            return text;
        }
        var token = ApiKeySecret.NewId("sluice-admin-") + ApiKeySecret.NewId("");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        // No byte-order mark: the file is read by shells too (`Bearer $(cat data/admin-token)`), which would send it.
        using (var writer = new StreamWriter(path, NoByteOrderMark, options))
        {
            writer.WriteLine(token);
        }
        created = true;
        return token;
    }

    [LoggerMessage(EventId = 40, EventName = "AdminTokenGenerated", Level = LogLevel.Warning,
        Message = "No admin token was configured; generated one and wrote it to {Path} (readable by its owner only)")]
    private static partial void LogGenerated(ILogger logger, string path);

    [LoggerMessage(EventId = 41, EventName = "AdminTokenRead", Level = LogLevel.Information, Message = "Admin token read from {Path}")]
    private static partial void LogRead(ILogger logger, string path);
}
