//! What guards a user's ways in: the password, or for an account without
//! one a recent sign-in, for changes a stolen access token should not
//! make; and the rule that an account without a password keeps its last
//! linked identity or passkey.

use std::time::Duration as StdDuration;

use time::Duration;

use super::{AuthService, Principal};
use crate::{AuthError, CredentialKind, NewCredential, Password, User, UserId, store::Credential};

/// A user's identity at an OAuth provider (see `oauth`).
pub(super) const OAUTH_IDENTITY: CredentialKind = CredentialKind::new("oauth_identity");

/// A user's passkey (see `passkeys`).
pub(super) const PASSKEY: CredentialKind = CredentialKind::new("passkey");

/// A pending passkey registration (see `passkeys`).
pub(super) const PASSKEY_REGISTRATION: CredentialKind = CredentialKind::new("passkey_registration");

/// A pending OAuth sign-in or link (see `oauth`); a link's is owned by the
/// user linking.
pub(super) const OAUTH_STATE: CredentialKind = CredentialKind::new("oauth_state");

/// How recent a session's sign-in must be for a change that a stolen
/// access token should not be able to make: a passkey, an API key or an
/// OAuth identity added; for an account without a password, a second
/// factor changed, the address changed or the account deleted. 10 minutes.
pub const REAUTHENTICATION_WINDOW: StdDuration = StdDuration::from_secs(10 * 60);

impl AuthService {
    /// Voids `user`'s pending passkey registrations and OAuth links (sign
    /// out everywhere, a password change or reset): a ceremony begun with
    /// a session that has ended must not finish.
    pub(super) async fn void_ceremonies(&self, user: &UserId) -> Result<(), AuthError> {
        if let Some(store) = &self.inner.credentials {
            for kind in [&PASSKEY_REGISTRATION, &OAUTH_STATE] {
                store.delete_for_user(user, kind).await?;
            }
        }
        Ok(())
    }

    /// Forgets `user`'s passkeys and pending registrations: the account
    /// is being taken back by its address's owner.
    pub(super) async fn remove_passkeys(&self, user: &UserId) -> Result<(), AuthError> {
        if let Some(store) = &self.inner.credentials {
            store.delete_for_user(user, &PASSKEY).await?;
        }
        self.void_ceremonies(user).await
    }

    /// Refuses a principal whose session was signed in more than
    /// [`REAUTHENTICATION_WINDOW`] ago (refreshes do not count), that has
    /// no session here, or whose session has ended.
    pub(super) async fn require_recent_sign_in(
        &self,
        principal: &Principal,
    ) -> Result<(), AuthError> {
        let session = principal
            .session_id()
            .ok_or(AuthError::ReauthenticationRequired)?;
        let now = self.inner.now();
        let signed_in_at = self
            .inner
            .sessions
            .list_active_sessions(principal.user_id(), now)
            .await?
            .into_iter()
            .find(|active| &active.id == session)
            .map(|active| active.created_at)
            .ok_or(AuthError::ReauthenticationRequired)?;
        let window = Duration::try_from(REAUTHENTICATION_WINDOW).map_err(AuthError::internal)?;
        if now - signed_in_at > window {
            return Err(AuthError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// The principal's user, once they have shown it is them: the
    /// account's password (a missing one is wrong, and wrong ones count
    /// against the sign-in throttle), or, for an account without one, a
    /// session signed in within [`REAUTHENTICATION_WINDOW`].
    ///
    /// # Errors
    /// [`AuthError::WrongPassword`]; [`AuthError::TooManyAttempts`];
    /// [`AuthError::ReauthenticationRequired`].
    pub(super) async fn reauthenticate(
        &self,
        principal: &Principal,
        password: Option<&Password>,
    ) -> Result<User, AuthError> {
        let user = self.user_by_id(principal.user_id()).await?;
        if user.has_password {
            let password = password.ok_or(AuthError::WrongPassword)?;
            return Ok(self.check_password(principal, password).await?.user);
        }
        self.require_recent_sign_in(principal).await?;
        Ok(user)
    }

    /// Deletes `row`, one of `user`'s linked identities or passkeys,
    /// unless it is their last way to sign in (no password, no other such
    /// credential). Two removals at once cannot both pass: each counts
    /// again after deleting and puts its row back when none is left.
    ///
    /// # Errors
    /// [`AuthError::LastSignInMethod`]; [`AuthError::NotFound`] when the
    /// row is gone already.
    #[cfg_attr(not(any(feature = "oauth", feature = "passkeys")), allow(dead_code))]
    pub(super) async fn remove_sign_in_credential(
        &self,
        user: &User,
        row: Credential,
    ) -> Result<(), AuthError> {
        let store = self
            .inner
            .credentials
            .as_deref()
            .ok_or(AuthError::NotFound)?;
        let others = async || -> Result<usize, AuthError> {
            let mut count = 0;
            for kind in [&OAUTH_IDENTITY, &PASSKEY] {
                count += store.list(&user.id, kind).await?.len();
            }
            Ok(count)
        };
        if !user.has_password && others().await? < 2 {
            return Err(AuthError::LastSignInMethod);
        }
        if !store.delete(&user.id, &row.id).await? {
            return Err(AuthError::NotFound);
        }
        if !user.has_password && others().await? == 0 {
            // Another removal took the other one meanwhile.
            store
                .insert(NewCredential {
                    id: row.id,
                    kind: row.kind,
                    lookup: row.lookup,
                    user_id: row.user_id,
                    data: row.data,
                    created_at: row.created_at,
                    expires_at: row.expires_at,
                })
                .await?;
            return Err(AuthError::LastSignInMethod);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
