-- Tasks may belong to users of another issuer (trusted-issuer mode: the
-- `sub` of a Better Auth token), who have no row in auth_users, so the
-- foreign key goes. Deleting a local account still deletes its tasks,
-- through the app's `deleting_user` hook. SQLite cannot drop a constraint:
-- the table is rebuilt, every row and the id sequence copied (this runs in
-- the migration's transaction, so it all happens or none of it does).
CREATE TABLE tasks_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    description TEXT,
    completed   INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

INSERT INTO tasks_new (id, user_id, title, description, completed, created_at, updated_at)
    SELECT id, user_id, title, description, completed, created_at, updated_at FROM tasks;

-- Keep ids of deleted tasks from coming back.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'tasks_new', seq FROM sqlite_sequence WHERE name = 'tasks'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'tasks_new');
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'tasks'))
    WHERE name = 'tasks_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'tasks');

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_user_created ON tasks (user_id, created_at DESC, id DESC);
