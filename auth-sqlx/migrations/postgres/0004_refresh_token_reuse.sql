-- auth-sqlx schema version 4 (PostgreSQL): the refresh-token reuse
-- interval. A refresh token presented again shortly after its rotation (a
-- second browser tab, a retried request) gets a new pair of the same
-- session: a sibling of the session's main refresh token. Each rotated
-- hash counts how often it was reused, so that the service can bound it.
--
-- Applied in place over version 3: existing sessions and rotated hashes
-- are kept (with no reuses yet).

ALTER TABLE auth_rotated_refresh_tokens ADD COLUMN reuses INTEGER NOT NULL DEFAULT 0
    CONSTRAINT auth_rotated_refresh_tokens_reuses_positive CHECK (reuses >= 0);

-- Further current refresh-token hashes of a session, besides
-- auth_sessions.refresh_token_hash, made by reuses. Rotated like the main
-- one (into auth_rotated_refresh_tokens); they go with their session.
CREATE TABLE auth_refresh_token_siblings (
    refresh_token_hash BYTEA       PRIMARY KEY,
    session_id         TEXT        NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    created_at         TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_refresh_token_siblings_hash_length CHECK (octet_length(refresh_token_hash) = 32)
);

-- The cascade from auth_sessions.
CREATE INDEX auth_refresh_token_siblings_session_id_idx ON auth_refresh_token_siblings (session_id);
