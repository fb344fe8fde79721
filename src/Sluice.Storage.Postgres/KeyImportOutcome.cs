namespace Sluice.Storage.Postgres;

/// <summary>What copying one key into the database did.</summary>
public enum KeyImportOutcome
{
    /// <summary>The key was not there; now it is.</summary>
    Added,

    /// <summary>The key was there and active; the copy was revoked, so now it is revoked here too.</summary>
    Revoked,

    /// <summary>The key was there already as it is: nothing changed.</summary>
    Unchanged,
}
