//! The storage traits: where users, sessions, one-time tokens, the
//! credentials of sign-in methods and the mail queue live.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{AuthError, Email, PasswordHash, SessionId, User, UserId};

pub use crate::{
    credential::{Credential, CredentialId, CredentialKind, NewCredential},
    mail::{MailQueueStatus, NewQueuedMail, QueuedMail},
    one_time::{NewOneTimeToken, OneTimeToken, OneTimeTokenRecord, TokenPurpose},
    session::{
        MAX_USER_AGENT_CHARS, NewSession, RefreshToken, RefreshTokenHash, RefreshTokenMatch,
        Session, SessionClient, TokenHash,
    },
    user::{NewUser, UserRecord},
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

    /// Sets (or with `None` clears) the display name and `updated_at`;
    /// returns the updated user.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if there is no such user.
    async fn update_name(
        &self,
        id: &UserId,
        name: Option<&str>,
        updated_at: OffsetDateTime,
    ) -> Result<User, AuthError>;

    /// Compare-and-set of a verified address: only if the user's email is
    /// still `current`, sets it to `verified` (the same address, for a
    /// verification; a new one, for an email change), marks it verified
    /// and sets `updated_at`. `None` when there is no such user or its
    /// email is no longer `current` (a link for an old address must not
    /// verify the new one).
    ///
    /// # Errors
    /// [`AuthError::EmailTaken`] if another user holds `verified` (the
    /// unique index decides, also under races).
    async fn set_verified_email(
        &self,
        id: &UserId,
        current: &Email,
        verified: &Email,
        updated_at: OffsetDateTime,
    ) -> Result<Option<User>, AuthError>;

    /// Deletes the user with everything of theirs the auth stores hold
    /// (sessions, their rotated and sibling refresh-token hashes, one-time tokens, the
    /// credentials they own; not those without an owner), in one
    /// transaction; a SQL store lets `ON DELETE CASCADE` do it. Returns
    /// whether the user existed.
    async fn delete_user(&self, id: &UserId) -> Result<bool, AuthError>;
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

    /// The session of which `hash` is a current refresh-token hash
    /// ([`RefreshTokenMatch::Current`]), or which had `hash` as a refresh
    /// token before a rotation ([`RefreshTokenMatch::Rotated`]). A store must
    /// remember every rotated-away hash for as long as it keeps the session,
    /// so that a replayed old token is recognised.
    ///
    /// A session has one main current hash (its
    /// [`refresh_token_hash`](Session::refresh_token_hash)) and, after
    /// [reuses](Self::reuse_refresh_token), sibling ones: a sibling is
    /// `Current` too.
    async fn find_session_by_refresh_token(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenMatch>, AuthError>;

    /// Atomically replaces the session's current refresh-token hash
    /// `current` by `next`, only if `current` is still one of the session's
    /// current hashes and the session is neither revoked nor expired at
    /// `now` (compare-and-swap: of two concurrent rotations with one hash,
    /// exactly one returns `true`). `current` is then remembered as rotated
    /// at `now`, never reused. `next` takes `current`'s place: the main hash
    /// if `current` was the main one, else a sibling.
    ///
    /// On success the session's [`last_active_at`](Session::last_active_at)
    /// becomes `now` and, if `client` is `Some`, its user agent and address
    /// become the client's (a `None` in it included), in the same statement
    /// or transaction as the swap; with `client` `None` they stay.
    async fn rotate_refresh_token(
        &self,
        id: &SessionId,
        current: &RefreshTokenHash,
        next: &RefreshTokenHash,
        now: OffsetDateTime,
        client: Option<&SessionClient>,
    ) -> Result<bool, AuthError>;

    /// A reuse of a rotated refresh token (a second browser tab, a retried
    /// request): atomically, only if `rotated` is a hash that session `id`
    /// rotated away from at or after `rotated_since`, it has been reused
    /// fewer than `max_reuses` times, and the session is neither revoked
    /// nor expired at `now`, counts one reuse of `rotated` and makes `next`
    /// a further current hash of the session (a sibling, which
    /// [`rotate_refresh_token`](Self::rotate_refresh_token) rotates like
    /// the main one). Returns whether it did.
    ///
    /// Race guarantee: of any number of concurrent calls with one
    /// `rotated` hash, at most `max_reuses` return `true` in all (count and
    /// compare in one statement or transaction, not after a read). An
    /// unknown hash, another session's, or one that is current rather than
    /// rotated is `false`. Revoking, expiring and deleting the session, and
    /// deleting its user, cover its siblings like its main hash.
    ///
    /// On success it records the activity and `client` as
    /// [`rotate_refresh_token`](Self::rotate_refresh_token) does, atomically
    /// with the reuse.
    #[allow(clippy::too_many_arguments)]
    async fn reuse_refresh_token(
        &self,
        id: &SessionId,
        rotated: &RefreshTokenHash,
        next: &RefreshTokenHash,
        rotated_since: OffsetDateTime,
        max_reuses: u32,
        now: OffsetDateTime,
        client: Option<&SessionClient>,
    ) -> Result<bool, AuthError>;

    /// Revokes one session at `now`. Idempotent: revoking a revoked or
    /// unknown session is not an error.
    async fn revoke_session(&self, id: &SessionId, now: OffsetDateTime) -> Result<(), AuthError>;

    /// Revokes every session of a user that is active at `now`, except
    /// `keep` (the caller's own, after a password change); returns how many
    /// were revoked.
    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&SessionId>,
        now: OffsetDateTime,
    ) -> Result<u64, AuthError>;

    /// Revokes one session only if it belongs to `user_id` and is active at
    /// `now`; returns whether it did (so that another user's session id is
    /// indistinguishable from an unknown one).
    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        id: &SessionId,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError>;

    /// The user's sessions that are active at `now`, newest first.
    async fn list_active_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, AuthError>;

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
    /// `ended_before`, with its rotated and sibling hashes; returns how many sessions were
    /// deleted. With `ended_before` not in the future, no active session is
    /// deleted. See
    /// [`AuthService::delete_ended_sessions`](crate::AuthService::delete_ended_sessions).
    async fn delete_ended_sessions(&self, ended_before: OffsetDateTime) -> Result<u64, AuthError>;
}

/// Persistent one-time tokens: password reset, email verification, email
/// change, and any purpose an application adds (a magic link, say).
///
/// Only hashes are stored. Every token has one [`TokenPurpose`] and is
/// good for that purpose only, once, until it expires.
#[async_trait]
pub trait OneTimeTokenStore: Send + Sync + 'static {
    /// Stores a token and, in the same transaction, deletes the user's
    /// other tokens of the same purpose: a newer link voids the older ones.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if the user does not exist.
    async fn replace_one_time_token(&self, token: NewOneTimeToken) -> Result<(), AuthError>;

    /// Atomically uses up a token: deletes and returns it if its hash is
    /// `hash`, its purpose is `purpose` and it has not expired at `now`.
    /// Of two concurrent calls with one hash, exactly one gets `Some`. A
    /// token of another purpose is left alone (`None`).
    async fn consume_one_time_token(
        &self,
        hash: &TokenHash,
        purpose: &TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeTokenRecord>, AuthError>;

    /// Deletes the user's tokens of `purpose`; returns how many.
    async fn void_one_time_tokens(
        &self,
        user_id: &UserId,
        purpose: &TokenPurpose,
    ) -> Result<u64, AuthError>;

    /// Deletes tokens that expired before `expired_before`; returns how many.
    async fn delete_expired_one_time_tokens(
        &self,
        expired_before: OffsetDateTime,
    ) -> Result<u64, AuthError>;
}

/// Persistent state of sign-in methods: one row shape, [`Credential`], for
/// all of them, so that a new method (an email code, an OAuth identity, a
/// TOTP secret, backup codes, a passkey, an API key) needs no new store
/// method and no migration.
///
/// A row has a [`CredentialKind`] (its method), a `lookup` unique per kind
/// (what the method finds it by), an optional owner, and `data`, the
/// method's serialised state with any secret already encrypted or hashed
/// by the caller. Every update raises its `version`, and changes name the
/// version they read: of concurrent ones exactly one succeeds.
///
/// The store never filters reads by time: callers compare
/// [`expires_at`](Credential::expires_at) with their clock
/// ([`Credential::is_expired_at`]); only
/// [`delete_expired`](Self::delete_expired) looks at time. Deleting a user
/// deletes the credentials they own (see [`UserStore::delete_user`]).
/// A kind or lookup outside the rules of [`NewCredential::check`] is
/// refused on writes and found nowhere on reads, and so is an id or user
/// id that cannot be stored; none of these is an error on reads.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores a credential with version 1, never used; `None` if one of its
    /// kind already has its lookup. The unique index on (kind, lookup)
    /// decides, also when inserts race: exactly one of them gets `Some`.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`] if `user_id` names no user;
    /// [`AuthError::Internal`] if [`NewCredential::check`] fails or the id
    /// is taken.
    async fn insert(&self, new: NewCredential) -> Result<Option<Credential>, AuthError>;

    /// Stores a credential in place of the one with its kind and lookup, if
    /// any, atomically: a newer email sign-in code voids the older, whose
    /// id is then found no more.
    ///
    /// # Errors
    /// As [`insert`](Self::insert); on an error the older one stays.
    async fn replace(&self, new: NewCredential) -> Result<Credential, AuthError>;

    /// The credential with this id.
    async fn get(&self, id: &CredentialId) -> Result<Option<Credential>, AuthError>;

    /// The credential of this kind with this lookup (compared byte for
    /// byte).
    async fn find(
        &self,
        kind: &CredentialKind,
        lookup: &str,
    ) -> Result<Option<Credential>, AuthError>;

    /// The user's credentials of this kind, oldest first (ties by id,
    /// compared bytewise).
    async fn list(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<Vec<Credential>, AuthError>;

    /// Compare-and-swap: only if the credential's version is still
    /// `expected_version`, replaces its `data`, sets `last_used_at` (`None`
    /// keeps the one it has) and raises the version by one. Returns whether
    /// it did; of concurrent updates with one version, exactly one does.
    async fn update(
        &self,
        id: &CredentialId,
        expected_version: u64,
        data: &[u8],
        last_used_at: Option<OffsetDateTime>,
    ) -> Result<bool, AuthError>;

    /// Uses a credential up: deletes it only if its version is still
    /// `expected_version`. Returns whether it did; of concurrent calls
    /// (a backup code sent by two requests), exactly one gets `true`.
    async fn consume(&self, id: &CredentialId, expected_version: u64) -> Result<bool, AuthError>;

    /// Deletes one credential, only if `user_id` owns it; returns whether
    /// it did (so that another user's credential is indistinguishable
    /// from an unknown one).
    async fn delete(&self, user_id: &UserId, id: &CredentialId) -> Result<bool, AuthError>;

    /// Deletes the user's credentials of this kind; returns how many.
    async fn delete_for_user(
        &self,
        user_id: &UserId,
        kind: &CredentialKind,
    ) -> Result<u64, AuthError>;

    /// Deletes the credentials that expired before `expired_before`, owned
    /// or not; returns how many. Those without `expires_at` stay.
    async fn delete_expired(&self, expired_before: OffsetDateTime) -> Result<u64, AuthError>;
}

/// The mail queue: messages the account flows are to send, kept in the
/// same database as the rest, so that a message asked for survives a
/// crash or a restart (see [`AccountFlows::mail_queue`](crate::AccountFlows::mail_queue)).
///
/// A row's payload is opaque to the store (the flows keep a small JSON
/// job in it: what to send and to whom, never a token). The rules, which
/// the conformance suite checks, races included:
///
/// * Ids rise in the order rows are queued and are never reused.
/// * A row is *due* at `now` when `not_before <= now`, it is not claimed
///   (`claimed_until` is `None` or `<= now`), and it is the oldest row of
///   its [key](NewQueuedMail::key): of the rows with one key, only the
///   oldest is ever claimed, so they go out one at a time, in order, even
///   across instances.
/// * [`claim_due`](Self::claim_due) is atomic: of concurrent claimers, in
///   one process or in several sharing the database, each due row goes to
///   exactly one (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite runs
///   writers one at a time). A claim lasts until its `claimed_until`; a
///   worker that dies meanwhile leaves the row to be claimed again then.
/// * Only [`complete`](Self::complete) and [`cancel`](Self::cancel)
///   delete rows; the store never drops one by itself.
#[async_trait]
pub trait MailQueue: Send + Sync + 'static {
    /// Queues a row (0 attempts, unclaimed) and returns its id.
    ///
    /// # Errors
    /// [`AuthError::Internal`] if [`NewQueuedMail::check`] fails.
    async fn enqueue(&self, mail: NewQueuedMail) -> Result<i64, AuthError>;

    /// Claims up to `limit` rows due at `now`, oldest first: sets their
    /// `claimed_until` to `until`, adds one to their `attempts`, and
    /// returns them so changed, in id order.
    async fn claim_due(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, AuthError>;

    /// Deletes a row (its message was sent, or given up); whether it was
    /// there. Not tied to a claim: a message sent is done, whoever else
    /// holds it.
    async fn complete(&self, id: i64) -> Result<bool, AuthError>;

    /// Releases a claimed row until `not_before` (a failed send's
    /// back-off), only if it is still claimed by the claim that returned
    /// `claimed`, i.e. its `claimed_until` is still `claimed.claimed_until`
    /// (compare-and-swap): a worker whose claim ended and was taken over
    /// changes nothing. Returns whether it did.
    async fn retry_later(
        &self,
        claimed: &QueuedMail,
        not_before: OffsetDateTime,
    ) -> Result<bool, AuthError>;

    /// Deletes every row of `key`, claimed or not (a pending email change
    /// voided before its link went out); returns how many.
    async fn cancel(&self, key: &str) -> Result<u64, AuthError>;

    /// How many rows there are, and the oldest `created_at`.
    async fn queue_status(&self) -> Result<MailQueueStatus, AuthError>;
}
