using StackExchange.Redis;

namespace Sluice.Gateway.Limiting;

/// <summary>What went wrong with Redis, in a few words for <c>/healthz</c> and the log (StackExchange.Redis's own
/// messages carry a dump of its state).</summary>
internal static class RedisFailures
{
    public static string Brief(Exception? exception) => exception switch
    {
        null => "failing",
        RedisConnectionException connection => $"connection: {Causes(connection)}",
        TimeoutException => "no answer in time",
        _ => exception.Message.Split(';', 2)[0],
    };

    /// <summary>A connection failure and what caused it, outermost first: StackExchange.Redis's own reason ("no
    /// connection") is seldom the one an operator needs, which is further down (a refused password, an untrusted
    /// certificate, a server refusing connections).</summary>
    private static string Causes(RedisConnectionException connection)
    {
        var causes = new List<string>();
        for (Exception? cause = connection; cause is not null; cause = cause.InnerException)
        {
            var text = cause is RedisConnectionException inner ? inner.FailureType.ToString() : cause.Message.Split(';', 2)[0];
            if (!causes.Contains(text))
            {
                causes.Add(text);
            }
        }
        return string.Join(" <- ", causes);
    }
}
