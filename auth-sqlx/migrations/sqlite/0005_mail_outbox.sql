-- auth-sqlx schema version 5 (SQLite): the mail queue. Messages the
-- account flows are to send wait here, so that one asked for survives a
-- crash or a restart. A row holds a small JSON job (what to send, to
-- whom), never a message or a token: the worker issues the token when it
-- sends.
--
-- Applied in place over the earlier versions; no existing table changes.

CREATE TABLE auth_mail_outbox (
    -- Rises in the order rows are queued and is never reused
    -- (AUTOINCREMENT), so it orders the messages of one key.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Of the rows with one key (the recipient, or email_change:<user id>),
    -- only the oldest is ever claimed.
    ordering_key  TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Not claimed before this time: a retry's back-off.
    not_before    INTEGER NOT NULL,
    -- Claims so far, the current one included.
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- While in the future, a worker holds the row; then anyone may claim it.
    claimed_until INTEGER,
    -- length() of TEXT counts characters; the limit is in bytes.
    CONSTRAINT auth_mail_outbox_key_length
        CHECK (length(CAST(ordering_key AS BLOB)) BETWEEN 1 AND 255),
    CONSTRAINT auth_mail_outbox_attempts_positive CHECK (attempts >= 0)
);

-- The due rows, for the worker's poll.
CREATE INDEX auth_mail_outbox_not_before_idx ON auth_mail_outbox (not_before);
-- The oldest row of a key, and cancelling a key's rows.
CREATE INDEX auth_mail_outbox_key_idx ON auth_mail_outbox (ordering_key, id);
