namespace Sluice.Storage.Postgres;

/// <summary>
/// Something kept in memory that follows a store in PostgreSQL: the key directory now; plans and balances later.
/// The listener calls <see cref="CatchUpAsync"/> when a NOTIFY arrives on <see cref="Channel"/>, and for every
/// subscriber whenever it (re)starts listening, since notifications sent while it was not listening are lost.
/// </summary>
public interface IPostgresChangeSubscriber
{
    /// <summary>The LISTEN/NOTIFY channel the store's writes notify.</summary>
    string Channel { get; }

    /// <summary>Reads and applies every change since the last one this subscriber read. Must be cheap when nothing
    /// changed. The listener never calls it concurrently.</summary>
    Task CatchUpAsync(CancellationToken cancellationToken);
}
