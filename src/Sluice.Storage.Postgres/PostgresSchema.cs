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
        new(2, "usage ledger and balances", """
            -- Every metered call, exactly once (the request id is the key). Money in integer nanodollars.
            CREATE TABLE usage_ledger (
                request_id        text        NOT NULL PRIMARY KEY,
                time              timestamptz NOT NULL,
                key_id            text        NOT NULL,
                client_ip         text        NOT NULL,
                model             text        NOT NULL,
                endpoint          text        NOT NULL,
                status            integer     NOT NULL,
                prompt_tokens     bigint      NOT NULL,
                cached_tokens     bigint      NOT NULL,
                completion_tokens bigint      NOT NULL,
                cost              bigint      NOT NULL,
                latency_ms        integer     NOT NULL,
                streamed          boolean     NOT NULL,
                outcome           smallint    NOT NULL,
                source            smallint    NOT NULL,
                held              bigint      NULL
            );
            CREATE INDEX usage_ledger_key_time ON usage_ledger (key_id, time);
            CREATE INDEX usage_ledger_time ON usage_ledger (time);

            -- Prepaid balances, the amounts held for calls in flight, and every change.
            CREATE TABLE balances (
                key_id  text   NOT NULL PRIMARY KEY,
                balance bigint NOT NULL DEFAULT 0,
                held    bigint NOT NULL DEFAULT 0
            );
            CREATE TABLE balance_holds (
                request_id text        NOT NULL PRIMARY KEY,
                key_id     text        NOT NULL,
                amount     bigint      NOT NULL,
                created    timestamptz NOT NULL
            );
            CREATE TABLE balance_changes (
                id            bigserial   NOT NULL PRIMARY KEY,
                key_id        text        NOT NULL,
                time          timestamptz NOT NULL,
                amount        bigint      NOT NULL,
                balance_after bigint      NOT NULL,
                kind          smallint    NOT NULL,
                request_id    text        NULL UNIQUE,
                note          text        NULL
            );
            CREATE INDEX balance_changes_key ON balance_changes (key_id, id);
            """),
    ];

    /// <summary>The schema version this build knows: the last step's number.</summary>
    public static int LatestVersion => Migrations[^1].Version;
}
