-- auth-sqlx schema version 1 (PostgreSQL): users, sessions, and the
-- refresh-token hashes that sessions have rotated away from.
--
-- Tables are unqualified: they are created in the first schema of the
-- connection's search_path.

CREATE TABLE auth_users (
    id            TEXT        PRIMARY KEY,
    -- Normalised by auth-core (trimmed, lowercased, ASCII) before it gets
    -- here, so a plain unique constraint is case-insensitive uniqueness.
    email         TEXT        NOT NULL,
    name          TEXT,
    -- PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_users_email_key UNIQUE (email),
    CONSTRAINT auth_users_email_normalised CHECK (email = lower(btrim(email)))
);

CREATE TABLE auth_sessions (
    id                 TEXT        PRIMARY KEY,
    user_id            TEXT        NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- SHA-256 of the current refresh token; the token itself is never stored.
    refresh_token_hash BYTEA       NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    revoked_at         TIMESTAMPTZ,
    CONSTRAINT auth_sessions_refresh_token_hash_key UNIQUE (refresh_token_hash),
    CONSTRAINT auth_sessions_refresh_token_hash_length CHECK (octet_length(refresh_token_hash) = 32)
);

-- The per-request "is this session active" check is a lookup of the
-- primary key above. These serve sign-out-everywhere and the cascade from
-- auth_users, and the periodic cleanup of ended sessions.
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_at_idx ON auth_sessions (expires_at);
CREATE INDEX auth_sessions_revoked_at_idx ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every hash a session has rotated away from, kept as long as the session,
-- so that a replayed old refresh token is recognised (reuse detection).
CREATE TABLE auth_rotated_refresh_tokens (
    refresh_token_hash BYTEA       PRIMARY KEY,
    session_id         TEXT        NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    rotated_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX auth_rotated_refresh_tokens_session_id_idx ON auth_rotated_refresh_tokens (session_id);
