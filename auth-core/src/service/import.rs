//! Importing accounts, with their password hashes, from another system.

use super::{AuthService, name::normalise_name};
use crate::{AuthError, Email, NewUser, PasswordHash, User};

/// An account brought over from another system, for
/// [`AuthService::import_user`].
///
/// The hash is imported with [`PasswordHash::import`] (or
/// [`from_bcrypt`](PasswordHash::from_bcrypt) /
/// [`from_better_auth_scrypt`](PasswordHash::from_better_auth_scrypt)); it
/// is replaced by Argon2id on the user's next successful sign-in.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    /// The email address (trimmed and lowercased, as at sign-up).
    pub email: String,
    /// An optional display name, checked as at sign-up.
    pub name: Option<String>,
    /// The hash from the old system.
    pub password_hash: PasswordHash,
    /// Whether the old system had verified the address.
    pub email_verified: bool,
}

impl AuthService {
    /// Creates an account with an existing password hash, without opening
    /// a session or sending any message: a one-off migration step.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`] or [`AuthError::InvalidName`] as at
    /// sign-up; [`AuthError::EmailTaken`] if the email is registered.
    pub async fn import_user(&self, imported: ImportedUser) -> Result<User, AuthError> {
        let inner = &self.inner;
        let email = Email::parse(&imported.email)?;
        let name = normalise_name(imported.name, inner.max_name_chars)?;
        inner
            .users
            .create_user(NewUser {
                email,
                email_verified: imported.email_verified,
                name,
                password_hash: imported.password_hash,
                created_at: inner.now(),
            })
            .await
    }
}
