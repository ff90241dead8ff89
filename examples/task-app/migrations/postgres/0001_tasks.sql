-- Tasks of the example API. Times are microseconds since the Unix epoch,
-- like the SQLite schema, so both backends share every query's text.
CREATE TABLE tasks (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- "C": code-point order, the same as SQLite's, whatever the database's
    -- locale, so `sort=title` answers alike on both backends.
    title       TEXT    COLLATE "C" NOT NULL,
    description TEXT,
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE INDEX tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
