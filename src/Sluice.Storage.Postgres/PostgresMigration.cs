namespace Sluice.Storage.Postgres;

/// <summary>One numbered step of the schema. Steps are applied in order, each exactly once, and never edited once
/// released: a change to the schema is a new step.</summary>
public sealed record PostgresMigration(int Version, string Name, string Sql);
