-- Tasks may belong to users of another issuer (trusted-issuer mode: the
-- `sub` of a Better Auth token), who have no row in auth_users, so the
-- foreign key goes. Deleting a local account still deletes its tasks,
-- through the app's `deleting_user` hook.
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_user_id_fkey;
