namespace Sluice.Storage.Postgres;

/// <summary>What a migration run did: the schema version before and after, and the steps it applied (none when the
/// database was already up to date).</summary>
public sealed record PostgresMigrationResult(int From, int To, IReadOnlyList<PostgresMigration> Applied);
