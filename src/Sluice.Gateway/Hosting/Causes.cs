namespace Sluice.Gateway.Hosting;

/// <summary>An exception and the exceptions inside it, outermost first, as one line: the outer one alone often says
/// only "see inner exception" or "no connection", while the cause an operator needs (a refused certificate, a refused
/// password or connection) is further down.</summary>
internal static class Causes
{
    /// <summary>Each exception of the chain as <paramref name="describe"/> puts it (its message by default),
    /// joined by <c> &lt;- </c>, each different text once.</summary>
    public static string Of(Exception exception, Func<Exception, string>? describe = null)
    {
        var texts = new List<string>();
        for (Exception? cause = exception; cause is not null; cause = cause.InnerException)
        {
            var text = describe?.Invoke(cause) ?? cause.Message;
            if (!texts.Contains(text))
            {
                texts.Add(text);
            }
        }
        return string.Join(" <- ", texts);
    }
}
