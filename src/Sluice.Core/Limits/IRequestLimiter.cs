namespace Sluice.Core.Limits;

/// <summary>
/// Decides whether a request fits into every counter it carries, and if so counts it in all of them at once.
/// A refused request is counted nowhere. Implemented in memory (the embedded default) and on Redis.
/// </summary>
public interface IRequestLimiter
{
    /// <summary>Admits the request into every counter of <paramref name="checks"/>, or into none.</summary>
    /// <param name="checks">The counters the request must fit into.</param>
    /// <param name="requestId">Identifies the request, so that a retried decision is not counted twice.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    ValueTask<AdmissionResult> TryAdmitAsync(ReadOnlyMemory<LimitCheck> checks, string requestId, CancellationToken cancellationToken);

    /// <summary>Reports the counters without counting anything.</summary>
    ValueTask<AdmissionResult> PeekAsync(ReadOnlyMemory<LimitCheck> checks, CancellationToken cancellationToken);

    /// <summary>
    /// Gives back an admitted request (e.g. one the upstream failed) so that it counts in none of its checks.
    /// Returns how many counters held it.
    /// </summary>
    ValueTask<int> ReleaseAsync(ReadOnlyMemory<LimitCheck> checks, AdmissionResult admitted, CancellationToken cancellationToken);
}
