namespace Sluice.Gateway.Logging;

/// <summary>What the access log says about one request. Never the key itself: only its id.</summary>
public readonly record struct AccessLogEntry(
    DateTimeOffset Time,
    string Method,
    string Path,
    int Status,
    double LatencyMs,
    string? KeyId,
    string? ClientIp,
    string? Model,
    string? RequestId);
