namespace Sluice.Storage.Postgres;

/// <summary>
/// Every step of the schema, oldest first. Later stores (plans, balances, the usage ledger) add their tables as new
/// steps at the end, and take their change numbers from <c>store_versions</c> the way <c>api_keys</c> does.
/// </summary>
public static class PostgresSchema
{
    public static IReadOnlyList<PostgresMigration> Migrations { get; } =
    [
        new(1, "api keys", """
            -- One row per store: the last change number handed out. Taking the next number locks the row until the
            -- writing transaction commits, so change numbers become visible in the order they were taken and a reader
            -- that remembers the highest number it saw never skips a change.
            CREATE TABLE store_versions (
                name  text   NOT NULL PRIMARY KEY,
                value bigint NOT NULL
            );
            INSERT INTO store_versions (name, value) VALUES ('api_keys', 0);

            -- API keys: never the secret, only its SHA-256.
            CREATE TABLE api_keys (
                id       text        NOT NULL PRIMARY KEY,
                name     text        NOT NULL,
                plan     text        NOT NULL,
                hash     bytea       NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
                display  text        NOT NULL,
                created  timestamptz NOT NULL,
                revoked  timestamptz NULL,
                version  bigint      NOT NULL UNIQUE
            );
            """),
    ];

    /// <summary>The schema version this build knows: the last step's number.</summary>
    public static int LatestVersion => Migrations[^1].Version;
}
