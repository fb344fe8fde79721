using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 20, EventName = "UpstreamFailed", Level = LogLevel.Warning,
        Message = "Upstream call {Method} {Path} failed: {Error} ({Reason})")]
    public static partial void UpstreamFailed(ILogger logger, string method, string path, ForwarderError error, string reason);

    /// <summary>The messages of <paramref name="exception"/> and its inner exceptions: the outer one alone often only says
    /// "see inner exception" (a refused TLS certificate, a refused connection).</summary>
    public static string Reason(Exception? exception)
    {
        if (exception is null)
        {
            return "no detail";
        }
        var reason = new System.Text.StringBuilder(exception.Message);
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            reason.Append(" <- ").Append(inner.Message);
        }
        return reason.ToString();
    }

    [LoggerMessage(EventId = 21, EventName = "ModelsFetchFailed", Level = LogLevel.Warning,
        Message = "Fetching the model list from the upstream failed: {Reason}")]
    public static partial void ModelsFetchFailed(ILogger logger, string reason);
}
