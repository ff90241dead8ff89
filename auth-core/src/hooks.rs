//! Hooks: what an application does when an account changes.

use async_trait::async_trait;

use crate::{AuthError, User};

/// Called by the [`AuthService`](crate::AuthService) around account changes,
/// so that an application keeps its own data in step. Every method has a
/// default that does nothing; implement the ones you need and register the
/// value with
/// [`AuthServiceBuilder::account_hooks`](crate::AuthServiceBuilder::account_hooks).
///
/// ```
/// use auth_core::{AuthError, User, async_trait, hooks::AccountHooks};
///
/// struct DeleteTasks;
///
/// #[async_trait]
/// impl AccountHooks for DeleteTasks {
///     async fn deleting_user(&self, user: &User) -> Result<(), AuthError> {
///         // DELETE FROM tasks WHERE user_id = $1, on the app's database.
///         let _ = user;
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait AccountHooks: Send + Sync + 'static {
    /// Runs before a user is deleted, for the application to delete the
    /// user's data. An error aborts the deletion (the account stays, and
    /// the client gets the error), so data is deleted before its owner
    /// and never orphaned; since the client can simply retry, the hook
    /// must be idempotent. Data in the auth store's own database is
    /// better tied to the user with `ON DELETE CASCADE`, which deletes it
    /// in the same transaction.
    async fn deleting_user(&self, user: &User) -> Result<(), AuthError> {
        let _ = user;
        Ok(())
    }

    /// Runs after a password was changed or reset (all other sessions are
    /// already revoked).
    async fn password_changed(&self, user: &User) {
        let _ = user;
    }

    /// Runs after an address was verified (also the new address of an
    /// email change); `user` has the verified address.
    async fn email_verified(&self, user: &User) {
        let _ = user;
    }
}

/// The hooks of a service built without any: they do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoHooks;

impl AccountHooks for NoHooks {}
