-- auth-sqlx schema version 3 (SQLite): what sign-in methods keep (email
-- codes, OAuth identities, TOTP secrets, backup codes, passkeys, API
-- keys), one table for all of them, so that a new method needs no
-- migration.
--
-- Applied in place over version 2; no existing table changes.

-- A row per credential: its method (kind), what the method finds it by
-- (lookup, unique per kind), its owner if it has one yet, and the method's
-- own serialised state (data; secrets in it are encrypted or hashed before
-- they get here). version rises by one with every update, for
-- compare-and-swap.
CREATE TABLE auth_credentials (
    id           TEXT    PRIMARY KEY NOT NULL,
    -- NULL for state kept before an account exists (an email sign-in code
    -- for an unknown address); such rows outlive any user deletion.
    user_id      TEXT    REFERENCES auth_users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    lookup       TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    -- length() of TEXT counts characters; the limits are in bytes.
    CONSTRAINT auth_credentials_kind_length
        CHECK (length(CAST(kind AS BLOB)) BETWEEN 1 AND 64),
    CONSTRAINT auth_credentials_lookup_length
        CHECK (length(CAST(lookup AS BLOB)) BETWEEN 1 AND 255),
    CONSTRAINT auth_credentials_version_positive CHECK (version >= 1)
) WITHOUT ROWID;

-- Finding a credential by its method's lookup; inserts race on it.
CREATE UNIQUE INDEX auth_credentials_kind_lookup_key ON auth_credentials (kind, lookup);
-- A user's credentials of a kind, and the cascade from auth_users; the
-- periodic cleanup of expired credentials.
CREATE INDEX auth_credentials_user_id_kind_idx ON auth_credentials (user_id, kind);
CREATE INDEX auth_credentials_expires_at_idx ON auth_credentials (expires_at)
    WHERE expires_at IS NOT NULL;
