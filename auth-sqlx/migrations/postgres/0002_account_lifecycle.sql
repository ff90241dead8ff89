-- auth-sqlx schema version 2 (PostgreSQL): verified emails and one-time
-- tokens (password reset, email verification, email change, application
-- links).
--
-- Applied in place over version 1: existing users keep their rows, with
-- email_verified false (a constant default: no table rewrite).

ALTER TABLE auth_users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false;

-- Only SHA-256 hashes of the tokens are stored. A token is good for its
-- purpose only, once (deleted when used), until expires_at.
CREATE TABLE auth_one_time_tokens (
    hash       BYTEA       PRIMARY KEY,
    purpose    TEXT        NOT NULL,
    user_id    TEXT        NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The address the link was sent to (for an email change, the new one).
    email      TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_one_time_tokens_hash_length CHECK (octet_length(hash) = 32),
    CONSTRAINT auth_one_time_tokens_purpose_length CHECK (octet_length(purpose) BETWEEN 1 AND 64)
);

-- A newer link voiding the older ones, and the cascade from auth_users;
-- the periodic cleanup of expired tokens.
CREATE INDEX auth_one_time_tokens_user_id_purpose_idx ON auth_one_time_tokens (user_id, purpose);
CREATE INDEX auth_one_time_tokens_expires_at_idx ON auth_one_time_tokens (expires_at);
