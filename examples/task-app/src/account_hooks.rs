//! What the task API does when an account changes: a deleted user's tasks
//! go first.

use auth_core::{AuthError, User, async_trait, hooks::AccountHooks};

use crate::tasks::TaskStore;

/// Deletes a user's tasks before the user is deleted.
///
/// Consistency: the tasks go in one statement before the user row, and an
/// error stops the account deletion, so no task outlives its owner; if the
/// process dies between the two, the account remains with no tasks and a
/// retried deletion finishes the job (the statement is idempotent). There is
/// no foreign key from `tasks` to `auth_users` (migration 0002): in
/// trusted-issuer mode tasks belong to another issuer's users.
#[derive(Debug, Clone)]
pub struct DeleteTasksOfDeletedUsers(pub TaskStore);

const DELETE_USER_TASKS: &str = "DELETE FROM tasks WHERE user_id = $1";

#[async_trait]
impl AccountHooks for DeleteTasksOfDeletedUsers {
    async fn deleting_user(&self, user: &User) -> Result<(), AuthError> {
        let deleted = match &self.0 {
            TaskStore::Sqlite { pool, .. } => sqlx::query(DELETE_USER_TASKS)
                .bind(user.id.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
            TaskStore::Postgres(pool) => sqlx::query(DELETE_USER_TASKS)
                .bind(user.id.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        }
        .map_err(|error| match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                AuthError::unavailable(error)
            }
            other => AuthError::internal(other),
        })?;
        tracing::debug!(user_id = %user.id, deleted, "tasks of a deleted user deleted");
        Ok(())
    }
}
