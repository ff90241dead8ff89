-- auth-sqlx schema version 6 (PostgreSQL): what a session keeps of its
-- client, so that a user can tell their sessions apart. The user agent
-- (at most 256 characters, cleaned by auth-core) and the address of the
-- client that opened or last refreshed the session, NULL when unknown or
-- not recorded; and when that last refresh was. Personal data: they go
-- with the session (cleanup of ended sessions, deletion of the user).
--
-- Applied in place over version 5: existing sessions are kept, with no
-- client and their creation as their last activity.

ALTER TABLE auth_sessions
    ADD COLUMN last_active_at TIMESTAMPTZ,
    ADD COLUMN user_agent     TEXT
        CONSTRAINT auth_sessions_user_agent_length CHECK (char_length(user_agent) <= 256),
    -- As text (`192.0.2.7`, `2001:db8::1`), the form auth-core parses.
    ADD COLUMN ip             TEXT
        CONSTRAINT auth_sessions_ip_length CHECK (octet_length(ip) <= 45);

UPDATE auth_sessions SET last_active_at = created_at;

ALTER TABLE auth_sessions ALTER COLUMN last_active_at SET NOT NULL;
