-- auth-sqlx schema version 2 (SQLite): verified emails and one-time tokens
-- (password reset, email verification, email change, application links).
--
-- Applied in place over version 1: existing users keep their rows, with
-- email_verified false.

ALTER TABLE auth_users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0
    CONSTRAINT auth_users_email_verified_boolean CHECK (email_verified IN (0, 1));

-- Only SHA-256 hashes of the tokens are stored. A token is good for its
-- purpose only, once (deleted when used), until expires_at.
CREATE TABLE auth_one_time_tokens (
    hash       BLOB    PRIMARY KEY NOT NULL,
    purpose    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The address the link was sent to (for an email change, the new one).
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT auth_one_time_tokens_hash_length CHECK (length(hash) = 32),
    -- length() of TEXT counts characters; the limit is in bytes.
    CONSTRAINT auth_one_time_tokens_purpose_length
        CHECK (length(CAST(purpose AS BLOB)) BETWEEN 1 AND 64)
) WITHOUT ROWID;

-- A newer link voiding the older ones, and the cascade from auth_users;
-- the periodic cleanup of expired tokens.
CREATE INDEX auth_one_time_tokens_user_id_purpose_idx ON auth_one_time_tokens (user_id, purpose);
CREATE INDEX auth_one_time_tokens_expires_at_idx ON auth_one_time_tokens (expires_at);
