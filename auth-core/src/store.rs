//! The storage traits: where users and sessions live.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    AuthError, Email, NewSession, NewUser, PasswordHash, RefreshTokenHash, RefreshTokenMatch,
    Session, SessionId, User, UserId, UserRecord,
};

/// Persistent users.
///
/// Object safe: hold it as `Arc<dyn UserStore>`. Errors: report an
/// unreachable backend as [`AuthError::Unavailable`] and anything else
/// unexpected as [`AuthError::Internal`]; their text is never shown to
/// clients. The conformance suite in `auth_core::testing` (feature
/// `testing`) checks an implementation against these rules.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Creates a user and assigns its id.
    ///
    /// # Errors
    /// [`AuthError::EmailTaken`] if a user with this email exists, also when
    /// two creates with one email race (the loser gets the error; enforce it
    /// with a unique index, not a prior lookup).
    async fn create_user(&self, user: NewUser) -> Result<User, AuthError>;

    /// The user with this (normalised) email, with its password hash.
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<UserRecord>, AuthError>;

    /// The user with this id. An id this store could never have issued (a
    /// malformed UUID, say) is `Ok(None)`, not an error.
    async fn find_user_by_id(&self, id: &UserId) -> Result<Option<User>, AuthError>;

    /// Replaces the user's password hash and sets `updated_at`.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if there is no such user.
    async fn update_password_hash(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        updated_at: OffsetDateTime,
    ) -> Result<(), AuthError>;
}

/// Persistent sessions and their refresh-token hashes.
///
/// Time is passed in (`now`) rather than read by the store, so that the
/// service's [`Clock`](crate::Clock) decides what "expired" means.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if the user does not exist.
    async fn create_session(&self, session: NewSession) -> Result<Session, AuthError>;

    /// The session whose current refresh-token hash is `hash`
    /// ([`RefreshTokenMatch::Current`]), or which had `hash` as a refresh
    /// token before a rotation ([`RefreshTokenMatch::Rotated`]). A store must
    /// remember every rotated-away hash for as long as it keeps the session,
    /// so that a replayed old token is recognised.
    async fn find_session_by_refresh_token(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenMatch>, AuthError>;

    /// Atomically replaces the session's refresh-token hash `current` by
    /// `next`, only if `current` is still the session's hash and the session
    /// is neither revoked nor expired at `now` (compare-and-swap: of two
    /// concurrent rotations with one hash, exactly one returns `true`).
    /// `current` is then remembered as rotated at `now`.
    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError>;

    /// Revokes one session at `now`. Idempotent: revoking a revoked or
    /// unknown session is not an error.
    async fn revoke_session(&self, id: &SessionId, now: OffsetDateTime) -> Result<(), AuthError>;

    /// Revokes every session of a user that is active at `now`; returns how
    /// many that were.
    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError>;

    /// The user of the session if it exists, is not revoked and has not
    /// expired at `now`; `None` otherwise. This is the per-request check
    /// behind [`AuthService::authenticate`](crate::AuthService::authenticate),
    /// which also refuses a token whose `sub` is not this user: make it a
    /// primary-key lookup.
    ///
    /// Nothing more is needed: access tokens never outlive their session, so
    /// a token of an expired session is refused as expired before this
    /// check runs.
    async fn active_session_owner(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, AuthError>;

    /// Deletes every session that expired or was revoked before
    /// `ended_before`, with its rotated hashes; returns how many sessions were
    /// deleted. With `ended_before` not in the future, no active session is
    /// deleted. See
    /// [`AuthService::delete_ended_sessions`](crate::AuthService::delete_ended_sessions).
    async fn delete_ended_sessions(&self, ended_before: OffsetDateTime) -> Result<u64, AuthError>;
}
