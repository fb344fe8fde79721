using Microsoft.Extensions.Logging;

namespace Sluice.Gateway.Logging;

/// <summary>The one line logged per request. Never the key itself: only its id.</summary>
internal static partial class RequestLog
{
    [LoggerMessage(EventId = 1, EventName = "RequestCompleted", Level = LogLevel.Information,
        Message = "{Method} {Path} {Status} {LatencyMs}ms key={KeyId} ip={ClientIp} model={Model}")]
    public static partial void RequestCompleted(ILogger logger, string method, string path, int status, double latencyMs, string keyId, string clientIp, string model);
}
