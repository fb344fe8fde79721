namespace Sluice.Gateway.Logging;

/// <summary>The one line per request (<c>Sluice:AccessLog</c>).</summary>
public sealed class AccessLogOptions
{
    public const string Section = "Sluice:AccessLog";

    public bool Enabled { get; set; } = true;

    /// <summary><c>Text</c> (logfmt: <c>key=value</c>) or <c>Json</c> (one JSON object per line).</summary>
    public AccessLogFormat Format { get; set; } = AccessLogFormat.Text;

    /// <summary>A file to append to; standard output when not set.</summary>
    public string? Path { get; set; }

    /// <summary>How often buffered lines are written out (also when 64 KiB are waiting, and at a stop).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}

public enum AccessLogFormat
{
    Text,
    Json,
}
