namespace Sluice.Storage.Postgres;

/// <summary>The database has schema steps this build does not know: it was migrated by a newer Sluice.</summary>
public sealed class PostgresSchemaTooNewException : Exception
{
    public PostgresSchemaTooNewException()
    {
    }

    public PostgresSchemaTooNewException(string message)
        : base(message)
    {
    }

    public PostgresSchemaTooNewException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
