-- Tasks of the example API. Times are microseconds since the Unix epoch
-- (exact, and ordered as numbers), as in auth-sqlx's SQLite tables.
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    description TEXT,
    completed   INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Every query filters by user; the list orders by creation time.
CREATE INDEX tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
