//! The signed-in user's own account: name, password, sessions, deletion.

use super::{AuthService, Principal, Revoked, name::normalise_name};
use crate::{
    AuthError, ChangePasswordRequest, MessageKind, Password, SessionId, SessionInfo, TokenPurpose,
    User, UserRecord, Verification,
};

impl AuthService {
    /// Sets or (with `None` or a blank name) clears the principal's
    /// display name, by sign-up's rules.
    ///
    /// # Errors
    /// [`AuthError::InvalidName`]; [`AuthError::UserNotFound`] if the
    /// account is gone.
    pub async fn update_name(
        &self,
        principal: &Principal,
        name: Option<String>,
    ) -> Result<User, AuthError> {
        let inner = &self.inner;
        let name = normalise_name(name, inner.max_name_chars)?;
        let user = inner
            .users
            .update_name(principal.user_id(), name.as_deref(), inner.now())
            .await?;
        self.with_second_factors(user).await
    }

    /// Changes the principal's password. Every other session of the user
    /// is revoked (the calling one stays), pending reset and email-change
    /// links stop working, and the user is told by mail when [account
    /// flows](crate::AuthServiceBuilder::account_flows) are set up.
    ///
    /// The new password is checked first (no hashing for a refused one);
    /// wrong current passwords count against the sign-in throttle, so a
    /// stolen session cannot be used to guess the password.
    ///
    /// # Errors
    /// The policy's errors for the new password;
    /// [`AuthError::WrongPassword`]; [`AuthError::TooManyAttempts`].
    pub async fn change_password(
        &self,
        principal: &Principal,
        request: ChangePasswordRequest,
    ) -> Result<(), AuthError> {
        let inner = &self.inner;
        inner.password_policy.check(&request.new_password)?;
        let record = self
            .check_password(principal, &request.current_password)
            .await?;
        inner
            .password_policy
            .check_for(&request.new_password, &record.user.email)?;
        self.set_password(&record.user, &request.new_password, principal.session_id())
            .await
    }

    /// Deletes the principal's account once they have shown it is them:
    /// `password` is the account's; an account without one passes `None`
    /// and must have signed in within [`REAUTHENTICATION_WINDOW`](super::REAUTHENTICATION_WINDOW).
    /// The [`AccountHooks::deleting_user`](crate::AccountHooks::deleting_user)
    /// hook runs first (an error there keeps the account), then the store
    /// deletes the user with its sessions and one-time tokens, so its
    /// access and refresh tokens stop working.
    ///
    /// # Errors
    /// [`AuthError::WrongPassword`] (also for `None` when the account has
    /// a password); [`AuthError::TooManyAttempts`];
    /// [`AuthError::ReauthenticationRequired`]; the hook's error.
    pub async fn delete_account(
        &self,
        principal: &Principal,
        password: Option<&Password>,
    ) -> Result<(), AuthError> {
        let user = self.reauthenticate(principal, password).await?;
        self.inner.hooks.deleting_user(&user).await?;
        let _forget = self.forget_when_done(Revoked::Deleted(principal.user_id()));
        self.inner.users.delete_user(principal.user_id()).await?;
        tracing::info!(user_id = %principal.user_id(), "account deleted");
        Ok(())
    }

    /// The principal's active sessions, newest first, the principal's own
    /// marked `current`.
    ///
    /// # Errors
    /// The store's.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SessionInfo>, AuthError> {
        let inner = &self.inner;
        let sessions = inner
            .sessions
            .list_active_sessions(principal.user_id(), inner.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| SessionInfo {
                current: principal.session_id() == Some(&session.id),
                id: session.id,
                created_at: session.created_at,
                expires_at: session.expires_at,
                last_active_at: session.last_active_at,
                user_agent: session.user_agent,
                ip: session.ip,
            })
            .collect())
    }

    /// Revokes one of the principal's sessions (which may be its own).
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for an unknown, ended or another user's
    /// session: the answer is the same, so ids of others cannot be probed.
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        session_id: &SessionId,
    ) -> Result<(), AuthError> {
        let inner = &self.inner;
        let _forget = self.forget_when_done(Revoked::Session(session_id));
        let revoked = inner
            .sessions
            .revoke_user_session(principal.user_id(), session_id, inner.now())
            .await?;
        if revoked {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    /// The principal's user and hash, if `password` is its password. A
    /// wrong one counts against the sign-in throttle of the address.
    pub(super) async fn check_password(
        &self,
        principal: &Principal,
        password: &Password,
    ) -> Result<UserRecord, AuthError> {
        let inner = &self.inner;
        let user = self.user_by_id(principal.user_id()).await?;
        if let Some(throttle) = &inner.throttle {
            throttle.begin_attempt(&user.email).await?;
        }
        let record = inner
            .users
            .find_user_by_email(&user.email)
            .await?
            .filter(|record| record.user.id == user.id)
            .ok_or(AuthError::UserNotFound)?;
        let verified = if inner.password_policy.is_overlong(password) {
            Verification::Mismatch
        } else {
            self.verify_password(password, &record.password_hash)
                .await?
        };
        if !verified.is_match() {
            return Err(AuthError::WrongPassword);
        }
        if let Some(throttle) = &inner.throttle
            && let Err(error) = throttle.clear(&user.email).await
        {
            tracing::warn!(%error, "could not clear the sign-in throttle after a success");
        }
        Ok(record)
    }

    /// Stores a new password for `user` and does what a password change
    /// implies: other sessions revoked (all but `keep`), reset and pending
    /// email-change links void, the owner told, the hook run.
    pub(super) async fn set_password(
        &self,
        user: &User,
        password: &Password,
        keep: Option<&SessionId>,
    ) -> Result<(), AuthError> {
        let inner = &self.inner;
        let hash = inner.hasher.hash(password).await?;
        let now = inner.now();
        inner
            .users
            .update_password_hash(&user.id, &hash, now)
            .await?;
        {
            let _forget = self.forget_when_done(Revoked::User(&user.id));
            inner
                .sessions
                .revoke_user_sessions(&user.id, keep, now)
                .await?;
        }
        // Both no-ops without account flows.
        self.void_tokens(
            &user.id,
            &[TokenPurpose::PASSWORD_RESET, TokenPurpose::EMAIL_CHANGE],
        )
        .await?;
        self.void_challenges(&user.id).await?;
        self.void_ceremonies(&user.id).await?;
        self.notify(MessageKind::PasswordChanged, &user.email).await;
        inner.hooks.password_changed(user).await;
        Ok(())
    }
}
