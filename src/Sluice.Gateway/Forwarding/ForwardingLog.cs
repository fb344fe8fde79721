using Microsoft.Extensions.Logging;
using Sluice.Gateway.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Sluice.Gateway.Forwarding;

internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 20, EventName = "UpstreamFailed", Level = LogLevel.Warning,
        Message = "Upstream call {Method} {Path} failed: {Error} ({Reason})")]
    public static partial void UpstreamFailed(ILogger logger, string method, string path, ForwarderError error, string reason);

    /// <summary>The messages of <paramref name="exception"/> and its inner exceptions (<see cref="Causes"/>).</summary>
    public static string Reason(Exception? exception) => exception is null ? "no detail" : Causes.Of(exception);

    [LoggerMessage(EventId = 21, EventName = "ModelsFetchFailed", Level = LogLevel.Warning,
        Message = "Fetching the model list from the upstream failed: {Reason}")]
    public static partial void ModelsFetchFailed(ILogger logger, string reason);
}
