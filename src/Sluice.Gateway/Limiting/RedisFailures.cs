using Sluice.Gateway.Hosting;
using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

/// <summary>What went wrong with Redis, in a few words for <c>/healthz</c> and the log (StackExchange.Redis's own
/// messages carry a dump of its state).</summary>
internal static class RedisFailures
{
    public static string Brief(Exception? exception) => exception switch
    {
        null => "failing",
        // StackExchange.Redis's own reason ("no connection") first, then what caused it: each failure's type, and
        // the server's or the socket's message without the library's state dump.
        RedisConnectionException connection => "connection: " + Causes.Of(connection, static cause =>
            cause is RedisConnectionException inner ? inner.FailureType.ToString() : cause.Message.Split(';', 2)[0]),
        TimeoutException => "no answer in time",
        _ => exception.Message.Split(';', 2)[0],
    };
}
